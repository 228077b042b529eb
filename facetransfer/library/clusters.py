"""Groups of faces in a photo library, at 100,000 faces and growing: made once
(`cluster_descriptors`), then kept as new photos come (`assign_new`) without clustering
everything again, and a group the user named keeps its name.

The method is Chinese whispers (dlib's face clustering) on a graph of mutual nearest neighbours
that faiss finds: two faces are joined when each is among the other's 40 nearest and they are
within the base's calibrated distance, by an edge that weighs more the closer they are; each
face takes the group that weighs most among its neighbours. facetransfer.modeling.clustering
holds it (`facetransfer cluster` uses it too, and modeling cannot import this package).

Why this one, measured (adjusted Rand index, dlib base; `benchmarks/cluster_scale.py`,
BENCHMARKS.md): on the sample's wild photos 1.000 for benchmarks/gallery.py's five people and
0.929 for all 100 people, against 0.989 and 0.866 for average linkage over all pairs (memory for
every pair: 3.7 GB at 20,000 faces); HDBSCAN on the same graph and connected components with a
density rule (Immich's and PhotoPrism's way) did worse on the real sample, the latter joining
nearly everybody; whispers on one-way neighbours did as well on the real sample but fell apart
at 100,000 synthetic faces, where every face has people of its own and a thousand strangers
within the distance. Memory grows with faces x 40, and the update rule is the incremental one:
a new face takes the group that weighs most among its neighbours, as every face did.

The state, as a photo index keeps it: for each face a group id (`UNGROUPED`, -1, for a face in
no group), and a dict of the names users gave to group ids. Group ids are stable under
`assign_new`: a face's group never changes, new groups take new ids, so a name stays on its
group. After a full `cluster_descriptors` again, `carry_names` moves the names to the new ids.
`facetransfer.library.groups.group_index` keeps that state in the index file (tables groups and
face_groups, store.py) and is what `cluster --index` and `report --index` run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facetransfer.modeling.clustering import (
    NEIGHBOURS,
    UNGROUPED,
    by_size,
    chinese_whispers,
    cluster_descriptors,
    neighbour_graph,
)

__all__ = ["UNGROUPED", "Grouping", "assign_new", "carry_names", "cluster_descriptors"]


@dataclass
class Grouping:
    """One group id per face (UNGROUPED: in none), in the order the faces were given, and the
    names users gave to group ids."""

    labels: np.ndarray
    names: dict[int, str] = field(default_factory=dict)


def assign_new(
    vectors: np.ndarray,
    labels: np.ndarray,
    new_vectors: np.ndarray,
    max_distance: float,
    *,
    names: dict[int, str] | None = None,
    min_size: int = 2,
    neighbours: int = NEIGHBOURS,
    seed: int = 0,
) -> Grouping:
    """New faces into the groups of faces already grouped, without grouping those again.

    `vectors`, `labels`: the faces already there and their group ids (UNGROUPED for none; any
    non-negative ids); `new_vectors`: the faces to add. Returns a Grouping of all the faces,
    those already there first (their order kept), then the new ones: a face already in a group
    keeps it; a new face joins the group that weighs most among its nearest faces within
    `max_distance` (as each face does in `cluster_descriptors`); new faces, and faces that were
    in no group, that gather with none of the groups form new groups of at least `min_size`,
    with ids after the largest one used, largest group first. Two existing groups are never
    merged nor split here; `names` (group id -> name) comes back as it was given.

    Only the new faces and their nearest are searched (each against all the faces), so adding
    a few photos to a large library costs what those photos' faces do; faces in no group that
    no new face comes near stay as they were."""
    vectors = np.asarray(vectors, dtype=np.float32)
    new_vectors = np.asarray(new_vectors, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(vectors):
        raise ValueError(f"{len(labels)} labels for {len(vectors)} faces")
    if len(vectors) and len(new_vectors) and vectors.shape[1] != new_vectors.shape[1]:
        raise ValueError(
            f"new descriptors have {new_vectors.shape[1]} values, the faces' {vectors.shape[1]}"
        )
    if (labels < UNGROUPED).any():
        raise ValueError(f"group ids are {UNGROUPED} (none) or from 0")
    n = len(vectors)
    everything = np.concatenate([vectors, new_vectors]) if n else new_vectors
    free = np.concatenate([np.flatnonzero(labels == UNGROUPED), n + np.arange(len(new_vectors))])
    start = int(labels.max(initial=UNGROUPED)) + 1  # the first id a new group may take
    initial = np.concatenate([labels, np.full(len(new_vectors), UNGROUPED, dtype=np.int64)])
    initial[free] = start + np.arange(len(free))  # each face to place on its own at first
    new = n + np.arange(len(new_vectors))  # only the edges near the new faces are searched
    graph = neighbour_graph(everything, max_distance, neighbours=neighbours, around=new)
    settled = chinese_whispers(graph, initial, free=free, seed=seed)
    fresh = free[settled[free] >= start]  # gathered with no existing group
    numbered = by_size(settled[fresh], min_size)
    settled[fresh] = np.where(numbered >= 0, start + numbered, UNGROUPED)
    return Grouping(settled, dict(names or {}))


def carry_names(
    old_labels: np.ndarray, new_labels: np.ndarray, names: dict[int, str]
) -> dict[int, str]:
    """Names of old groups moved to the groups of a fresh `cluster_descriptors` of the same
    faces (the old ones first, in the same order; new faces may follow): each named group's
    name goes to the new group holding most of its faces, when that is more than half of them;
    when two names claim one group, the one with more faces there keeps it. A name whose faces
    scattered is left out (its group is gone)."""
    old_labels = np.asarray(old_labels)
    new_labels = np.asarray(new_labels)[: len(old_labels)]
    claims = []
    for group, name in names.items():
        mine = new_labels[old_labels == group]
        mine = mine[mine != UNGROUPED]
        if not len(mine):
            continue
        ids, counts = np.unique(mine, return_counts=True)
        best = int(np.argmax(counts))
        if 2 * counts[best] > (old_labels == group).sum():
            claims.append((int(counts[best]), int(ids[best]), name))
    carried: dict[int, str] = {}
    for _, group, name in sorted(claims, key=lambda c: -c[0]):
        carried.setdefault(group, name)
    return carried
