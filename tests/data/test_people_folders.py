"""Person folders for a gallery: the simple layout and the seed's, others left out."""

from __future__ import annotations

import pytest
from PIL import Image

from facetransfer.data.fotos import people_folders
from facetransfer.errors import InputError


def _photo(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8)).save(path)


def test_each_person_folder_is_a_person_and_others_are_nobody(tmp_path):
    for name in ("ana/a.jpg", "ana/2019/b.jpg", "ben/c.jpg", "others/d.jpg", ".hidden/e.jpg"):
        _photo(tmp_path / name)
    (tmp_path / "empty").mkdir()
    people = people_folders(tmp_path)
    assert sorted(people) == ["ana", "ben"]
    assert [p.name for p in people["ana"]] == ["b.jpg", "a.jpg"]  # sub-folders count too


def test_the_seed_layout_merges_each_persons_splits(tmp_path):
    for name in ("train/paco/a.jpg", "validation/paco/b.jpg", "test/paco/c.jpg"):
        _photo(tmp_path / name)
    _photo(tmp_path / "train" / "no paco" / "x.jpg")
    _photo(tmp_path / "test" / "ana" / "y.jpg")
    people = people_folders(tmp_path)
    assert sorted(people) == ["ana", "paco"] and len(people["paco"]) == 3


def test_a_folder_with_no_person_folders_is_a_clear_error(tmp_path):
    _photo(tmp_path / "loose.jpg")
    with pytest.raises(InputError, match="no person folders"):
        people_folders(tmp_path)
