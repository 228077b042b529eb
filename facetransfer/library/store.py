"""The index file: one SQLite database holding every photo of a library and every face found in
it, so that later questions (identify, find, cluster) never read a photo again.

Schema (version `SCHEMA_VERSION`, in `meta`; docs/library.md says the same):

    meta(key PRIMARY KEY, value)            schema_version, made_by
    photos(path PRIMARY KEY, hash, size, mtime_ns, taken, width, height, status, reason)
        path: absolute; hash: SHA-256 of the file's bytes (what identifies a photo);
        taken: EXIF DateTimeOriginal as "YYYY-MM-DD HH:MM:SS" or NULL; width, height: the upright
        full size; status: ok | skipped (reason says why) | removed (no longer in the library)
    described(hash, base, faces, PRIMARY KEY(hash, base))
        a content was detected and described on a base (weights_sha256): faces found (0 too)
    faces(hash, base, face, x, y, w, h, confidence, landmarks, descriptor,
          PRIMARY KEY(hash, base, face))
        face: 0 = the largest; box in full-size pixels; landmarks: 10 float32 (5 x, y pairs, MTCNN's
        order) as a BLOB; descriptor: float32 BLOB (128 numbers on dlib's base)
    groups(base, group_id, name, PRIMARY KEY(base, group_id))                 (version 2)
        the groups `cluster --index` made of a base's faces; name: the one the user gave, or NULL
    face_groups(hash, base, face, group_id, PRIMARY KEY(hash, base, face))   (version 2)
        each grouped face's group (-1: placed, in no group); a face without a row is not grouped
        yet. A trigger deletes a face's row with the face (an edited or orphaned photo's faces).
        meta `groups:<base>` records how the grouping was made (JSON: max_distance, generation).

A version-1 index is upgraded in place when opened (the two tables and the trigger added, the
version bumped, in one transaction). Each photo's rows are written inside one transaction
(`transaction`), in WAL mode, so a kill at any moment leaves the photos written before it and
nothing of the one in flight.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import numpy as np

from facetransfer.errors import InputError

SCHEMA_VERSION = 2
DEFAULT_NAME = "library.sqlite"
STATUSES = ("ok", "skipped", "removed")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    path TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    taken TEXT,
    width INTEGER,
    height INTEGER,
    status TEXT NOT NULL CHECK (status IN {STATUSES!r}),
    reason TEXT
);
CREATE INDEX IF NOT EXISTS photos_by_hash ON photos (hash);
CREATE TABLE IF NOT EXISTS described (
    hash TEXT NOT NULL,
    base TEXT NOT NULL,
    faces INTEGER NOT NULL,
    PRIMARY KEY (hash, base)
);
CREATE TABLE IF NOT EXISTS faces (
    hash TEXT NOT NULL,
    base TEXT NOT NULL,
    face INTEGER NOT NULL,
    x INTEGER NOT NULL, y INTEGER NOT NULL, w INTEGER NOT NULL, h INTEGER NOT NULL,
    confidence REAL NOT NULL,
    landmarks BLOB NOT NULL,
    descriptor BLOB NOT NULL,
    PRIMARY KEY (hash, base, face)
);
CREATE TABLE IF NOT EXISTS groups (
    base TEXT NOT NULL,
    group_id INTEGER NOT NULL,
    name TEXT,
    PRIMARY KEY (base, group_id)
);
CREATE TABLE IF NOT EXISTS face_groups (
    hash TEXT NOT NULL,
    base TEXT NOT NULL,
    face INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    PRIMARY KEY (hash, base, face)
);
CREATE INDEX IF NOT EXISTS face_groups_by_group ON face_groups (base, group_id);
CREATE TRIGGER IF NOT EXISTS faces_drop_groups AFTER DELETE ON faces BEGIN
    DELETE FROM face_groups
    WHERE hash = old.hash AND base = old.base AND face = old.face;
END;
"""
# what a photo's description is made of (merge-index copies these); the groups are derived
TABLES = ("meta", "photos", "described", "faces")
GROUP_TABLES = ("groups", "face_groups")
GROUPS_KEY = "groups:"  # meta key prefix: groups:<base> -> how that base's grouping was made


class IndexFileError(InputError):
    """An index file that is not there, not SQLite, damaged, or of a newer schema; names it."""


def default_index(home=None) -> Path:
    from facetransfer.config import home as home_folder  # noqa: PLC0415  (config is light)

    return Path(home or home_folder()) / DEFAULT_NAME


def _damaged(path: Path, error: Exception) -> IndexFileError:
    said = " ".join(str(error).split()) or type(error).__name__
    return IndexFileError(f"{path}: not a readable facetransfer index ({said})")


def connect(path, *, create: bool = False) -> sqlite3.Connection:
    """The index at `path`, checked: an SQLite file whose schema version this code reads. With
    `create`, a missing file is made (its folder too). IndexFileError names the file otherwise."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise IndexFileError(f"{path}: a folder, not an index file")
    if not path.exists():
        if not create:
            raise IndexFileError(f"{path}: no such index file (make one with `facetransfer index`)")
        path.parent.mkdir(parents=True, exist_ok=True)
    elif path.stat().st_size and not _looks_like_sqlite(path):
        raise IndexFileError(f"{path}: not an SQLite index file")
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        if create:
            db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a killed process loses no commit (a power cut may lose the last ones)
            db.execute("PRAGMA synchronous = NORMAL")
        version = _schema_version(db, path)
        if version is None:
            if not create:
                raise IndexFileError(f"{path}: an SQLite file, but not a facetransfer index")
            with transaction(db):
                _create(db)
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('made_by', ?)",
                    (str(SCHEMA_VERSION), "facetransfer"),
                )
        elif version > SCHEMA_VERSION:
            raise IndexFileError(
                f"{path}: index schema version {version}, newer than this facetransfer reads "
                f"({SCHEMA_VERSION}): upgrade facetransfer"
            )
        elif version < SCHEMA_VERSION:
            _upgrade(db, version)
        _check_tables(db, path)
    except sqlite3.DatabaseError as error:
        raise _damaged(path, error) from None
    return db


def _create(db: sqlite3.Connection) -> None:
    """Every table, index and trigger of SCHEMA that is not there yet (inside a transaction:
    executescript would commit)."""
    statements, pending = [], ""
    for line in SCHEMA.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending)
            pending = ""
    for statement in statements:
        db.execute(statement)


def _upgrade(db: sqlite3.Connection, version: int) -> None:
    """An index of an older schema brought to SCHEMA_VERSION in place, in one transaction:
    version 1 -> 2 adds the groups tables and their trigger (no row changes)."""
    with transaction(db):
        now = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if int(now[0]) < SCHEMA_VERSION:  # (another process may have upgraded it meanwhile)
            _create(db)
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )


def _looks_like_sqlite(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _schema_version(db: sqlite3.Connection, path: Path) -> int | None:
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise IndexFileError(f"{path}: its meta table has no schema version") from None


def _check_tables(db: sqlite3.Connection, path: Path) -> None:
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in TABLES + GROUP_TABLES if t not in names]
    if missing:
        raise IndexFileError(f"{path}: damaged index, no {', '.join(missing)} table")
    state = _file_state(path)
    if state in _checked:  # one command opens its index two or three times: checked once
        return
    ok = db.execute("PRAGMA quick_check(1)").fetchone()[0]  # a truncated file fails here
    if ok != "ok":
        raise IndexFileError(f"{path}: damaged index ({ok})")
    _checked.add(state)


_checked: set[tuple] = set()  # index files found sound, as (path, size, mtime) of file and WAL


def _file_state(path: Path) -> tuple:
    def stat(p: Path):
        try:
            info = p.stat()
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

    return str(path.resolve()), stat(path), stat(Path(f"{path}-wal"))


@contextlib.contextmanager
def transaction(db: sqlite3.Connection):
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: all of it is written, or none."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def to_blob(values) -> bytes:
    return np.ascontiguousarray(values, dtype="<f4").tobytes()


def from_blob(blob: bytes, width: int | None = None) -> np.ndarray:
    values = np.frombuffer(blob, dtype="<f4")
    return values if width is None else values.reshape(-1, width)


def table_rows(db: sqlite3.Connection, table: str) -> list[tuple]:
    """Every row of a table in primary-key order (for comparing two indexes' descriptions:
    meta's `groups:<base>` rows, a kept grouping's, are derived data and left out, as
    merge-index leaves them out; read the groups tables for those)."""
    order = {"meta": "key", "photos": "path", "described": "hash, base"}
    order["faces"] = "hash, base, face"
    order["groups"] = "base, group_id"
    order["face_groups"] = "hash, base, face"
    rule = f" WHERE key NOT LIKE '{GROUPS_KEY}%'" if table == "meta" else ""
    return db.execute(f"SELECT * FROM {table}{rule} ORDER BY {order[table]}").fetchall()
