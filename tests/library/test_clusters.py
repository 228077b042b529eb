"""Groups of faces for a photo library (facetransfer.library.clusters) on made-up descriptors
shaped like dlib's (128 values; one person's faces about 0.3 apart, two people's about 1.6):
groups found exactly and numbered by size, lone faces in none, new faces placed without
grouping the old ones again, names kept, and memory that grows with the faces, not their pairs."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from facetransfer.library import clusters
from facetransfer.library.clusters import UNGROUPED, assign_new, carry_names, cluster_descriptors

MAX_DISTANCE = 0.6


def _people(rng, sizes, *, dims=128, spread=0.02, centres=None):
    """Faces of len(sizes) people, person by person, and the people's centres."""
    if centres is None:
        centres = rng.normal(scale=0.1, size=(len(sizes), dims))
    faces = [
        c + rng.normal(scale=spread, size=(n, dims)) for c, n in zip(centres, sizes, strict=True)
    ]
    return np.concatenate(faces).astype(np.float32), centres


def _owners(sizes):
    return np.repeat(np.arange(len(sizes)), sizes)


def test_separate_people_are_found_exactly_and_numbered_by_size(rng):
    sizes = [3, 12, 2, 7, 5]
    vectors, _ = _people(rng, sizes)
    order = rng.permutation(len(vectors))  # the order faces come in does not matter
    labels = np.empty(len(vectors), dtype=int)
    labels[order] = cluster_descriptors(vectors[order], MAX_DISTANCE)
    by_size = {1: 0, 3: 1, 4: 2, 0: 3, 2: 4}  # person -> group: the largest is group 0
    assert labels.tolist() == [by_size[p] for p in _owners(sizes)]


def test_a_lone_face_and_a_group_under_min_size_are_in_none(rng):
    vectors, _ = _people(rng, [6, 1, 2])
    labels = cluster_descriptors(vectors, MAX_DISTANCE)
    assert labels[:6].tolist() == [0] * 6 and labels[6] == UNGROUPED
    assert labels[7:].tolist() == [1, 1]
    labels = cluster_descriptors(vectors, MAX_DISTANCE, min_size=3)
    assert labels[6:].tolist() == [UNGROUPED] * 3 and labels[:6].tolist() == [0] * 6
    assert cluster_descriptors(vectors[:1], MAX_DISTANCE).tolist() == [UNGROUPED]
    assert cluster_descriptors(np.zeros((0, 128)), MAX_DISTANCE).tolist() == []


def test_two_people_closer_than_the_distance_to_each_other_stay_apart(rng):
    """Each person's faces are closer to their own than to the other's, though some pairs
    across are within the distance: a chain of close pairs does not merge them."""
    centre = rng.normal(scale=0.1, size=128)
    step = rng.normal(size=128)
    step *= 0.45 / np.linalg.norm(step)  # the two centres 0.45 apart, faces ~0.3 from theirs
    sizes = [15, 15]
    vectors, _ = _people(rng, sizes, centres=np.stack([centre, centre + step]))
    assert cluster_descriptors(vectors, MAX_DISTANCE).tolist() == [0] * 15 + [1] * 15


def test_a_stranger_near_a_big_group_is_not_taken_into_it(rng):
    """A face within the distance of many of a group's faces, but farther from them than they
    are from each other, is nobody's neighbour there: in a large library most faces are near
    some big group, and a stranger stays in none."""
    vectors, centres = _people(rng, [60])
    offset = rng.normal(size=128)
    stranger = centres[0] + offset * 0.42 / np.linalg.norm(offset)
    vectors = np.vstack([vectors, stranger]).astype(np.float32)
    assert np.linalg.norm(vectors[:60] - stranger, axis=1).max() < MAX_DISTANCE
    labels = cluster_descriptors(vectors, MAX_DISTANCE)
    assert labels[:60].tolist() == [0] * 60 and labels[60] == UNGROUPED
    done = assign_new(vectors[:60], labels[:60], vectors[60:], MAX_DISTANCE)
    assert done.labels[60] == UNGROUPED


def test_new_faces_join_their_group_and_the_users_name_stays(rng):
    sizes = [8, 6, 4, 1]
    vectors, centres = _people(rng, sizes)
    labels = cluster_descriptors(vectors, MAX_DISTANCE)
    labels[labels == 1] = 7  # ids as an index keeps them need not be 0..: they stay as given
    names = {7: "ana"}
    more_of_ana, _ = _people(rng, [3], centres=centres[1:2])
    more_of_group_0, _ = _people(rng, [2], centres=centres[:1])
    new = np.concatenate([more_of_ana, more_of_group_0])
    done = assign_new(vectors, labels, new, MAX_DISTANCE, names=names)
    assert done.labels[: len(vectors)].tolist() == labels.tolist()  # nothing regrouped
    assert done.labels[len(vectors) :].tolist() == [7, 7, 7, 0, 0]
    assert done.names == {7: "ana"}
    assert done.names is not names  # the caller's dict is not changed behind its back


def test_a_new_person_forms_a_new_group_with_a_new_id(rng):
    sizes = [8, 6]
    vectors, _ = _people(rng, sizes)
    labels = cluster_descriptors(vectors, MAX_DISTANCE)
    stranger, stranger_centre = _people(rng, [1])  # seen once before: in no group
    vectors, labels = np.concatenate([vectors, stranger]), np.append(labels, UNGROUPED)
    newcomer, _ = _people(rng, [4])  # a new person, four faces
    again, _ = _people(rng, [1], centres=stranger_centre)  # the stranger, a second time
    lone, _ = _people(rng, [1])  # somebody once
    done = assign_new(vectors, labels, np.concatenate([newcomer, again, lone]), MAX_DISTANCE)
    assert done.labels[:14].tolist() == labels[:14].tolist()
    # the four new faces are the larger new group (id 2), the stranger's two the next (3)
    assert done.labels[15:19].tolist() == [2] * 4
    assert done.labels[14] == done.labels[19] == 3
    assert done.labels[20] == UNGROUPED


def test_placing_new_faces_agrees_with_grouping_everything(rng):
    sizes = [20, 15, 10, 6, 3]
    vectors, _ = _people(rng, sizes)
    owners = _owners(sizes)
    order = rng.permutation(len(vectors))
    old, new = order[:40], order[40:]
    done = assign_new(
        vectors[old], cluster_descriptors(vectors[old], MAX_DISTANCE), vectors[new], MAX_DISTANCE
    )
    together = owners[np.concatenate([old, new])]
    for person in range(len(sizes)):
        assert len(set(done.labels[together == person])) == 1
    assert len(set(done.labels)) == len(sizes)


def test_names_follow_their_faces_to_a_fresh_grouping(rng):
    sizes = [5, 9, 3]
    vectors, _ = _people(rng, sizes)
    first = cluster_descriptors(vectors[:14], MAX_DISTANCE)  # ana's 9 are group 0, then 5
    names = {int(first[5]): "ana", int(first[0]): "ben"}
    again = cluster_descriptors(vectors, MAX_DISTANCE)
    assert carry_names(first, again, names) == {int(again[5]): "ana", int(again[0]): "ben"}
    scattered = np.arange(14)  # every face its own group: no group holds most of ana's
    assert carry_names(first, scattered, names) == {}


def test_bad_state_is_refused(rng):
    vectors, _ = _people(rng, [3])
    with pytest.raises(ValueError, match="labels"):
        assign_new(vectors, [0, 0], vectors, MAX_DISTANCE)
    with pytest.raises(ValueError, match="values"):
        assign_new(vectors, [0, 0, 0], vectors[:, :64], MAX_DISTANCE)
    with pytest.raises(ValueError, match="positive"):
        cluster_descriptors(vectors, 0.0)


def test_memory_grows_with_the_faces_not_with_their_pairs(rng):
    """20,000 faces: their pairs' distances would take 1.6 GB as float32 (0.8 GB for half of
    them); the grouping stays within 100 MB of Python-side memory (numpy's included)."""
    people = 2_000
    sizes = rng.integers(1, 20, size=people)
    sizes = (sizes * 20_000 / sizes.sum()).astype(int) + 1
    vectors, _ = _people(rng, sizes, dims=32, spread=0.03)
    assert len(vectors) >= 20_000
    tracemalloc.start()
    try:
        labels = cluster_descriptors(vectors, 0.4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert labels.max() + 1 >= 0.9 * (sizes >= 2).sum()  # and it still groups


def test_the_module_says_what_it_offers():
    assert set(clusters.__all__) >= {"cluster_descriptors", "assign_new", "UNGROUPED"}
