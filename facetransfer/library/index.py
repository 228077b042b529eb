"""Index a photo library: every face of every photo detected, aligned and described once, into
the index file (library.store), so that a re-run touches only what changed.

A photo is known by its content (SHA-256 of its bytes): a moved or renamed photo is found again by
its hash and only its path changes; an edited one has a new hash and is described again; a photo
no longer there is marked removed. A photo whose size and modification time are those recorded is
not even read, so a re-run with nothing changed only lists the folders (and loads no model).

A photo becomes faces as it does for the people commands (data.photo_faces: a JPEG decoded at
the scale detection needs, each face cut from a decode fine enough for its crop, each described
alone), so the index holds what identify on the photo itself would find. Reading, hashing and
decoding run on other threads while the networks run, and so does aligning a photo's faces (with
any finer decode) while the next photo is detected: the detector keeps about 1.35 of the 2 cores
busy (BENCHMARKS.md, section 8, has the costs). Photos are still written one by one, in order.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from facetransfer.config import MIN_FACE_CONFIDENCE, NAMED_BASES
from facetransfer.data.faces import detect_faces
from facetransfer.data.images import ImageReadError, ScaledPhoto, list_images
from facetransfer.data.photo_faces import PhotoFaces, cut_faces, decode
from facetransfer.errors import InputError
from facetransfer.library import store
from facetransfer.progress import progress_bar

log = logging.getLogger(__name__)

READ_AHEAD = 4  # photos read and decoded ahead of the networks


@dataclass
class IndexSummary:
    """What a run did: photos seen, and of those new, changed, moved, unchanged, skipped; photos
    marked removed; faces found in the photos described this run."""

    photos: int = 0
    counts: Counter = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) of this run's

    WORDS = ("new", "changed", "moved", "unchanged", "removed", "skipped", "faces")

    def __str__(self) -> str:
        c = self.counts
        return f"{self.photos} photos: " + ", ".join(f"{c[w]} {w}" for w in self.WORDS)

    def as_dict(self) -> dict:
        return {"photos": self.photos, **{w: int(self.counts[w]) for w in self.WORDS}}


@dataclass
class _Read:
    """A photo as the reading threads hand it over."""

    path: Path
    size: int
    mtime_ns: int
    hash: str = ""
    data: bytes | None = None
    photo: ScaledPhoto | None = None
    error: ImageReadError | None = None
    outside: bool = False  # in another shard


def shard_of(content_hash: str, shards: int) -> int:
    """The shard (0 .. shards-1) a content hash belongs to."""
    return int(content_hash[:12], 16) % shards if content_hash else 0


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_paths(roots, recursive: bool = False) -> tuple[list[Path], list[Path], set[str]]:
    """(photos, folders, files): the photo files named or found in `roots` (absolute, sorted,
    each once), the folders they were looked for in, and the files named."""
    photos, folders, files = set(), [], set()
    for root in roots:
        root = Path(root).expanduser().absolute()
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
        if root.is_dir():
            folders.append(root)
            photos.update(p.absolute() for p in list_images(root, recursive=recursive))
        else:
            photos.add(root)
            files.add(str(root))
    return sorted(photos), folders, files


def _under(path: str, folders: list[Path], files: set[str], recursive: bool) -> bool:
    if path in files:
        return True
    parent = Path(path).parent
    return any(parent == f or (recursive and f in parent.parents) for f in folders)


class _Indexer:
    def __init__(self, db, base, *, min_face_confidence: float, shard):
        self.db = db
        self.base = base
        self.key = None
        self.embedder = None
        self.min_face_confidence = min_face_confidence
        self.shard = shard
        self.counts = Counter()

    # -- the base: its key without loading it when the index already knows it ------------------

    def base_key(self) -> str:
        if self.key is None:
            self.key = _known_base_key(self.db, self.base) or self.model().card.weights_sha256
        return self.key

    def model(self):
        if self.embedder is None:
            # TensorFlow loads only once a photo needs describing: a re-run with nothing new
            # answers in the time it takes to list the folders
            from facetransfer.modeling.describe import FaceEmbedder  # noqa: PLC0415

            base = self.base
            self.embedder = base if isinstance(base, FaceEmbedder) else FaceEmbedder.load(base)
            key = self.embedder.card.weights_sha256
            if self.key is not None and self.key != key:
                raise InputError(f"base {self.base}: its weights changed since the index was made")
            self.key = key
            with store.transaction(self.db):  # the questions read the base's card from here
                card = json.dumps(self.embedder.card.to_dict(), sort_keys=True)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"card:{key}", card))
                if str(base) in NAMED_BASES:  # a file base may be retrained in place: loaded
                    self.db.execute(
                        "INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"base:{base}", key)
                    )
        return self.embedder

    # -- reading threads ----------------------------------------------------------------------

    def read(self, path: Path, size: int, mtime_ns: int, described: set[str]) -> _Read:
        item = _Read(path, size, mtime_ns)
        try:
            item.data = path.read_bytes()
        except OSError as error:
            item.error = ImageReadError(path, f"cannot be read ({error.strerror})", "permission")
            where = shard_of(_sha256(str(path).encode()), self.shard[1]) if self.shard else 0
            item.outside = self.shard is not None and where != self.shard[0]
            return item
        item.hash = _sha256(item.data)
        if self.shard is not None and shard_of(item.hash, self.shard[1]) != self.shard[0]:
            item.outside, item.data = True, None
            return item
        if item.hash in described:
            item.data = None
            return item
        try:
            item.photo = decode(path, item.data)
        except ImageReadError as error:
            item.error = error
        return item

    # -- the networks, then one transaction per photo -----------------------------------------

    def detect(self, item: _Read) -> list:
        """The faces the detector finds in a photo's decoded pixels (the first half of
        data.photo_faces; the network runs on this thread)."""
        self.model()  # loaded here, before the cutting thread reads its geometry
        return detect_faces(item.photo.pixels, min_confidence=self.min_face_confidence)

    def cut(self, item: _Read, found: list) -> PhotoFaces:
        """Those faces aligned, a small one cut from a finer decode (on another thread)."""
        return cut_faces(
            item.photo, found, geometry=self.embedder.geometry, path=item.path, data=item.data
        )

    def rows(self, item: _Read, found: PhotoFaces) -> list[tuple]:
        """The faces rows of a photo, each face described alone, as the people commands
        describe the faces of the photo itself."""
        vectors = self.model().describe_each(found.crops)
        rows = [
            (
                item.hash,
                self.base_key(),
                number,
                *map(int, face.box),
                float(face.confidence),
                store.to_blob(face.landmarks),
                store.to_blob(vector),
            )
            for number, (face, vector) in enumerate(zip(found.faces, vectors, strict=True))
        ]
        self.counts["faces"] += len(rows)
        return rows

    def write(self, item: _Read, status: str, faces: list[tuple] | None, moved_from: str | None):
        path = str(item.path)
        old = self.db.execute("SELECT hash FROM photos WHERE path = ?", (path,)).fetchone()
        photo = item.photo
        if photo is not None:
            taken, (width, height) = photo.taken, photo.full_size
        else:
            known = self.db.execute(
                "SELECT taken, width, height FROM photos WHERE hash = ? AND status = 'ok' "
                "ORDER BY path LIMIT 1",
                (item.hash,),
            ).fetchone()
            taken, width, height = known or (None, None, None)
        reason = None
        if item.error is not None:
            status, reason = "skipped", item.error.reason
        with store.transaction(self.db):
            if faces is not None:
                self.db.execute(
                    "DELETE FROM faces WHERE hash = ? AND base = ?", (item.hash, self.base_key())
                )
                self.db.executemany("INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?,?)", faces)
                self.db.execute(
                    "INSERT OR REPLACE INTO described VALUES (?, ?, ?)",
                    (item.hash, self.base_key(), len(faces)),
                )
            if moved_from is not None:
                self.db.execute("DELETE FROM photos WHERE path = ?", (moved_from,))
            self.db.execute(
                "INSERT OR REPLACE INTO photos VALUES (?,?,?,?,?,?,?,?,?)",
                (path, item.hash, item.size, item.mtime_ns, taken, width, height, status, reason),
            )
            if old and old[0] != item.hash:
                _drop_orphan(self.db, old[0])


def _drop_orphan(db, content_hash: str) -> None:
    """Faces of a content no photo row points to any more (an edited photo's old version)."""
    if not db.execute("SELECT 1 FROM photos WHERE hash = ? LIMIT 1", (content_hash,)).fetchone():
        db.execute("DELETE FROM faces WHERE hash = ?", (content_hash,))
        db.execute("DELETE FROM described WHERE hash = ?", (content_hash,))


def _known_base_key(db, base) -> str | None:
    """A base's weights digest without loading it: the index's record of a named base, or a
    FaceEmbedder's card."""
    card = getattr(base, "card", None)
    if card is not None:
        return card.weights_sha256
    row = db.execute("SELECT value FROM meta WHERE key = ?", (f"base:{base}",)).fetchone()
    return row[0] if row else None


def index_library(
    roots,
    index_file,
    *,
    base="dlib",
    recursive: bool = False,
    min_face_confidence: float = MIN_FACE_CONFIDENCE,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    workers: int = 2,
) -> IndexSummary:
    """Bring the index at `index_file` up to date with the photos in `roots` (files or folders;
    their sub-folders too when `recursive`): new photos described, changed ones described again,
    moved ones re-pathed, removed ones marked. `base`: a name, a file or a FaceEmbedder.
    `shard=(k, n)`: only the photos whose content hash falls in shard k of n (shards.merge
    joins them)."""
    if shard is not None and not (0 <= shard[0] < shard[1]):
        raise InputError(f"shard {shard[0]} of {shard[1]}: shards are numbered 0 to {shard[1] - 1}")
    paths, folders, files = library_paths(roots, recursive)
    db = store.connect(index_file, create=True)
    where = (folders, files, recursive)
    try:
        return _run(db, paths, where, base, min_face_confidence, shard, progress, workers)
    finally:
        db.close()


def _run(db, paths, where, base, confidence, shard, progress, workers) -> IndexSummary:
    indexer = _Indexer(db, base, min_face_confidence=confidence, shard=shard)
    rows = {
        r[0]: r[1:]
        for r in db.execute("SELECT path, hash, size, mtime_ns, status FROM photos").fetchall()
    }
    key = _known_base_key(db, base)
    described = (
        {r[0] for r in db.execute("SELECT hash FROM described WHERE base = ?", (key,))}
        if key
        else set()
    )
    listed = {str(p) for p in paths}
    todo, counts = [], indexer.counts
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            stat = None
        row = rows.get(str(path))
        if (
            stat is not None
            and row is not None
            and row[3] != "removed"
            and (row[1], row[2]) == (stat.st_size, stat.st_mtime_ns)
            and (row[3] == "skipped" or row[0] in described)
        ):
            counts["unchanged"] += 1
            continue
        size, mtime = (stat.st_size, stat.st_mtime_ns) if stat else (0, 0)
        todo.append((path, size, mtime))
    gone = {
        p: r[0]
        for p, r in rows.items()
        if r[3] != "removed" and p not in listed and _under(p, *where)
    }
    gone_by_hash: dict[str, list[str]] = {}
    for p, h in sorted(gone.items()):
        gone_by_hash.setdefault(h, []).append(p)
    seen = counts["unchanged"]
    bar = progress_bar(None, total=len(todo), desc="indexing", enabled=progress, unit="photo")
    pending = None  # the photo detected last: aligned on `cutter` while the next is detected
    in_flight: set[str] = set()  # contents being described (a copy later in the run waits)
    skipped: list[tuple[str, str]] = []

    def finish(job) -> None:
        item, kind, moved_from, cutting = job
        faces = None
        if cutting is not None:
            try:
                faces = indexer.rows(item, cutting.result())
            except ImageReadError as error:
                item.error = error
        indexer.write(item, "ok", faces, moved_from)
        if faces is not None:
            described.add(item.hash)
        counts["skipped" if item.error is not None else kind] += 1
        if item.error is not None:
            skipped.append((str(item.path), item.error.reason))
        item.data = item.photo = None

    with (
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="index-read") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="index-cut") as cutter,
    ):
        queue = deque()
        waiting = iter(todo)
        for _ in range(READ_AHEAD):
            _submit(pool, queue, waiting, indexer, described)
        while queue:
            item = queue.popleft().result()
            _submit(pool, queue, waiting, indexer, described)
            if bar is not None:
                bar.update(1)
            if item.outside:
                continue
            seen += 1
            row = rows.get(str(item.path))
            kind = _kind(row, item, gone_by_hash)
            moved_from = None
            if kind == "moved":
                moved_from = gone_by_hash[item.hash].pop(0)
                gone.pop(moved_from, None)
            cutting = None
            if item.error is None and item.hash not in described and item.hash not in in_flight:
                if item.photo is None:  # described by an earlier photo of this run: read again
                    item = indexer.read(item.path, item.size, item.mtime_ns, set())
                if item.error is None:
                    cutting = cutter.submit(indexer.cut, item, indexer.detect(item))
                    in_flight.add(item.hash)
            if pending is not None:
                finish(pending)
            pending = (item, kind, moved_from, cutting)
        if pending is not None:
            finish(pending)
    if bar is not None:
        bar.close()
    if gone:
        with store.transaction(db):
            db.executemany(
                "UPDATE photos SET status = 'removed', reason = 'no longer in the library' "
                "WHERE path = ?",
                [(p,) for p in sorted(gone)],
            )
    counts["removed"] += len(gone)
    return IndexSummary(seen, counts, skipped)


def _submit(pool, queue, pending, indexer, described) -> None:
    job = next(pending, None)
    if job is not None:
        queue.append(pool.submit(indexer.read, *job, described))


def _kind(row, item: _Read, gone_by_hash) -> str:
    if row is not None and row[3] != "removed":
        return "unchanged" if row[0] == item.hash else "changed"
    if row is None and gone_by_hash.get(item.hash):
        return "moved"
    return "new"
