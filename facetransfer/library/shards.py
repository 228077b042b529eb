"""An index built in shards on several machines, merged into one.

Every machine lists the same library and runs `index --shard K/N`: it reads and hashes each photo
(a few milliseconds) and detects and describes only those whose content hash falls in shard K
(`index.shard_of`), so each content is described on exactly one machine and a duplicate photo's
paths all land in its shard. `merge` copies the shards' rows into one index file: the same rows a
single run over the whole library writes (a test says so), since each photo's rows depend only on
its bytes and every face is described alone.

The groups `cluster --index` keeps (tables groups and face_groups, meta `groups:<base>`) are not
copied: they are derived from the faces, and two shards' group ids would clash. The merged index
holds the groups it held before (none when new); `cluster --index` on it places the faces the
shards brought into them (or, on a new index, groups them all).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from facetransfer.errors import InputError
from facetransfer.library import store

_GROUPS = f"{store.GROUPS_KEY}%"  # meta keys of a kept grouping: not merged


def merge(shards, target) -> dict:
    """Copy every shard's photos, faces and meta into the index `target` (made when missing), in
    one transaction. A path two shards disagree about is refused (InputError)."""
    target = Path(target)
    db = store.connect(target, create=True)
    try:
        for k, shard in enumerate(shards):
            store.connect(shard).close()  # checked: SQLite, an index, a schema we read
            db.execute(f"ATTACH DATABASE ? AS shard{k}", (str(shard),))
        with store.transaction(db):
            for k, shard in enumerate(shards):
                _copy(db, f"shard{k}", Path(shard))
        for k in range(len(shards)):
            db.execute(f"DETACH DATABASE shard{k}")
        photos = db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        faces = db.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise store.IndexFileError(f"{target}: merging failed ({error})") from None
    finally:
        db.close()
    return {"photos": photos, "faces": faces}


def _copy(db: sqlite3.Connection, name: str, shard: Path) -> None:
    clash = db.execute(
        f"SELECT s.path FROM {name}.photos s JOIN main.photos m ON m.path = s.path "
        "WHERE m.hash != s.hash OR m.status != s.status LIMIT 1"
    ).fetchone()
    if clash:
        raise InputError(f"{shard}: {clash[0]} differs from another shard's record of it")
    clash = db.execute(
        f"SELECT s.key FROM {name}.meta s JOIN main.meta m ON m.key = s.key "
        "WHERE m.value != s.value AND s.key NOT LIKE ? LIMIT 1",
        (_GROUPS,),
    ).fetchone()
    if clash:
        raise InputError(f"{shard}: its {clash[0]} differs from another shard's")
    for table in store.TABLES:
        rule = " WHERE key NOT LIKE ?" if table == "meta" else ""
        db.execute(
            f"INSERT OR IGNORE INTO main.{table} SELECT * FROM {name}.{table}{rule}",
            (_GROUPS,) if rule else (),
        )
