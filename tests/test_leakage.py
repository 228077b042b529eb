"""Leakage: nothing the model is tested on may have been seen in training.

- near-duplicate photos (resized, re-encoded, cropped copies) never land on both sides of a split;
- the same photo filed as the person and as someone else is an error naming both files;
- CelebA's split is identity-disjoint (the official one, checked on the real files; the fallback);
- negatives drawn for a person never include images used to test the attribute base, never share
  a person across splits, and never include the person.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw
from shared_data import SHARED_DATA

from facetransfer.data import dedup, fotos
from facetransfer.data.celeba import (
    IdentityLeakError,
    check_identity_disjoint,
    identities_in_several_splits,
    load_celeba,
)
from facetransfer.data.labels import read_identities, read_partition

REAL = SHARED_DATA / "celeba"
WILD = SHARED_DATA / "celeba-wild" / "img_celeba"


def scene(seed: int, size=(320, 240)) -> Image.Image:
    """A photo-like picture: a smooth random background and a dozen coloured shapes."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        w, h = rng.integers(10, 90, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x), int(y), int(x + w), int(y + h)), fill=colour)
    return image


def copies(image: Image.Image) -> dict[str, Image.Image]:
    """What happens to a photo on its way round: resized, recompressed, cropped, brightened."""
    w, h = image.size
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=40)
    return {
        "half": image.resize((w // 2, h // 2)),
        "jpeg40": Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"),
        "crop4": image.crop(
            (round(w * 0.04), round(h * 0.04), w - round(w * 0.04), h - round(h * 0.04))
        ),
        "crop_right6": image.crop((0, 0, w - round(w * 0.06), h)),
        "brighter": Image.fromarray(
            np.clip(np.asarray(image, dtype=int) + 20, 0, 255).astype(np.uint8)
        ),
    }


def fingerprint(image: Image.Image) -> dedup.Fingerprint:
    return dedup.fingerprint(np.asarray(image.convert("RGB")))


# --- the perceptual hash -----------------------------------------------------------------------


def test_copies_are_near_duplicates_and_different_photos_are_not():
    originals = [fingerprint(scene(seed)) for seed in range(40)]
    for seed in range(0, 40, 4):
        for name, copy in copies(scene(seed)).items():
            distance = dedup.near_duplicate_distance(fingerprint(copy), originals[seed])
            assert distance <= dedup.MAX_DISTANCE, (seed, name, distance)
    assert dedup.find_near_duplicates(originals) == []  # 780 pairs of different photos


def test_plain_backgrounds_do_not_make_photos_alike():
    # A plain white background is most of each picture; the subjects differ. A plain dHash
    # scores these as close (flat cells agree); the ternary hash leaves flat cells out.
    pictures = []
    for seed in range(6):
        image = Image.new("RGB", (240, 320), (250, 250, 250))
        image.paste(scene(100 + seed, (100, 220)), (130, 60))
        pictures.append(fingerprint(image))
    assert dedup.find_near_duplicates(pictures) == []


def test_near_duplicate_groups_are_transitive_and_name_the_files(tmp_path):
    scene(1).save(tmp_path / "a.jpg", quality=95)
    copies(scene(1))["half"].save(tmp_path / "a small.png")
    copies(scene(1))["crop4"].save(tmp_path / "a cropped.jpg", quality=90)
    scene(2).save(tmp_path / "b.jpg", quality=95)
    (tmp_path / "broken.jpg").write_bytes(b"")
    paths = sorted(tmp_path.iterdir())
    found = dedup.near_duplicate_groups(paths)
    group = dict(zip((p.name for p in paths), found.groups.tolist(), strict=True))
    assert group["a.jpg"] == group["a small.png"] == group["a cropped.jpg"]
    assert len({group["a.jpg"], group["b.jpg"], group["broken.jpg"]}) == 3
    assert found.unreadable == [(tmp_path / "broken.jpg", "empty file (0 bytes)")]
    assert [sorted(p.name for p in s) for s in found.duplicate_sets()] == [
        ["a cropped.jpg", "a small.png", "a.jpg"]
    ]


@pytest.mark.skipif(not WILD.is_dir(), reason="no shared CelebA sample")
def test_real_duplicates_in_celeba_wild_are_found():
    # CelebA itself holds near-duplicates: these two (a crop and recompression of one photo)
    # were found among the sample's 2,474 wild photos and checked by eye.
    a, b = (dedup.fingerprint_file(WILD / name) for name in ("003013.jpg", "127087.jpg"))
    assert dedup.is_near_duplicate(a, b)
    others = [dedup.fingerprint_file(WILD / n) for n in ("002856.jpg", "005934.jpg", "012926.jpg")]
    assert not any(dedup.is_near_duplicate(a, other) for other in others)


# --- near-duplicates and the person's split ---------------------------------------------------


def _fill(folder: Path, seeds, copied: dict[int, list[str]]) -> dict[str, int]:
    """Write scene(seed) for each seed, plus the named copies; return file name -> seed."""
    folder.mkdir(parents=True, exist_ok=True)
    origin = {}
    for seed in seeds:
        scene(seed).save(folder / f"photo {seed}.jpg", quality=92)
        origin[f"photo {seed}.jpg"] = seed
        for name in copied.get(seed, []):
            copies(scene(seed))[name].save(folder / f"photo {seed} {name}.jpg", quality=92)
            origin[f"photo {seed} {name}.jpg"] = seed
    return origin


def _splits_per_original(frame: pd.DataFrame, origin: dict[str, int]) -> pd.Series:
    seeds = frame["path"].map(lambda p: origin[Path(p).name])
    return frame.groupby(seeds)["split"].nunique()


def test_near_duplicates_always_share_a_split(tmp_path):
    root = tmp_path / "fotos"
    copied = {0: ["half", "jpeg40", "crop4"], 3: ["crop_right6", "brighter"], 7: ["half"]}
    origin = _fill(root / "paco", range(12), copied)
    origin |= _fill(root / "others", range(50, 62), {50: ["half", "crop4"]})
    for seed in range(3):
        frame = fotos.split_fotos(root, "paco", seed=seed)
        assert (_splits_per_original(frame, origin) == 1).all(), seed
        # the group column says the same: one group per original photo, one split per group
        assert frame["group"].nunique() == 24
        assert (frame.groupby("group")["split"].nunique() == 1).all()
    # Without grouping, the copies of photo 0 (four files) do get split up: the test can fail.
    spread = [
        _splits_per_original(fotos.split_fotos(root, "paco", seed=s, deduplicate=False), origin)
        for s in range(3)
    ]
    assert any((s > 1).any() for s in spread)


def test_seed_layout_moves_a_copy_into_its_original_split(tmp_path, caplog):
    for split, seeds in (
        ("train", range(0, 4)),
        ("validation", range(4, 6)),
        ("test", range(6, 8)),
    ):
        _fill(tmp_path / split / "paco", seeds, {})
        _fill(tmp_path / split / "others", [s + 50 for s in seeds], {})
    copies(scene(1))["half"].save(tmp_path / "test" / "paco" / "holiday.jpg")  # a training photo
    copies(scene(55))["crop4"].save(tmp_path / "validation" / "others" / "friend.jpg")  # test's
    with caplog.at_level(logging.WARNING, logger="facetransfer.data.fotos"):
        frame = fotos.split_fotos(tmp_path, "paco")
    split_of = {Path(p).name: s for p, s, label in frame[["path", "split", "label"]].values}
    assert split_of["holiday.jpg"] == "train"
    assert split_of["friend.jpg"] == "validation"  # the earlier of validation and test
    assert (
        frame.loc[frame["path"].str.endswith("others/photo 55.jpg"), "split"].item() == "validation"
    )
    assert "holiday.jpg: a near-duplicate of a photo in train/" in caplog.text
    assert (frame.groupby("group")["split"].nunique() == 1).all()


def test_same_photo_as_person_and_as_others_is_an_error_naming_both(tmp_path):
    _fill(tmp_path / "paco", range(6), {})
    _fill(tmp_path / "others", range(50, 56), {})
    copies(scene(2))["jpeg40"].save(tmp_path / "others" / "who is this.jpg")
    with pytest.raises(fotos.PhotoConflictError) as caught:
        fotos.split_fotos(tmp_path, "paco")
    message = str(caught.value)
    assert str(tmp_path / "paco" / "photo 2.jpg") in message
    assert str(tmp_path / "others" / "who is this.jpg") in message
    assert "remove one copy" in message


def test_drawn_demo_photos_are_not_taken_for_copies(tmp_path):
    # The embedded default's photos are drawn from one template and differ mostly in colour:
    # the hardest case for a hash. None may be grouped, or the demo's split would change.
    from facetransfer.demo import synthetic

    root = synthetic.make_fotos(tmp_path / "fotos", "paco", n_person=40, n_others=40, seed=0)
    frame = fotos.split_fotos(root, "paco", seed=0)
    assert frame["group"].nunique() == len(frame) == 80
    plain = fotos.split_fotos(root, "paco", seed=0, deduplicate=False)
    pd.testing.assert_frame_equal(frame.drop(columns="group"), plain.drop(columns="group"))


# --- CelebA: identity-disjoint splits ---------------------------------------------------------


@pytest.mark.skipif(not (REAL / "identity_CelebA.txt").is_file(), reason="no shared CelebA sample")
def test_official_celeba_split_is_identity_disjoint():
    # All 202,599 rows of the official files, not only the images in the sample.
    partition = read_partition(REAL / "list_eval_partition.csv")
    identity = read_identities(REAL / "identity_CelebA.txt")
    assert len(partition) == len(identity) == 202_599
    assert identities_in_several_splits(partition, identity).empty
    people = identity.groupby(partition.reindex(identity.index)).nunique()
    assert people.tolist() == [8_192, 985, 1_000]
    # and what load_celeba keeps of it on disk
    assert check_identity_disjoint(load_celeba(REAL)) == 5_416


def test_a_partition_that_shares_people_is_reported(tmp_path, caplog, tiny_celeba):
    celeba = load_celeba(tiny_celeba)
    assert check_identity_disjoint(celeba) == 12
    leaky = celeba.partition.copy()
    person = celeba.identity.iloc[0]
    leaky[celeba.identity == person] = np.array([0, 0, 0, 2, 2, 1], dtype=np.int8)  # all three
    celeba.partition = leaky
    shared = identities_in_several_splits(celeba.partition, celeba.identity)
    assert shared.index.tolist() == [person]
    assert shared.loc[person].tolist() == [3, 1, 2]
    with pytest.raises(
        IdentityLeakError, match=rf"identity {person}: 3 train, 1 validation, 2 test"
    ):
        check_identity_disjoint(celeba)

    # load_celeba warns when a partition file does this
    text = (tiny_celeba / "list_eval_partition.txt").read_text()
    lines = text.splitlines()
    first = lines[0].split()[0]
    root = tmp_path / "copy"
    root.mkdir()
    for name in ("list_attr_celeba.txt", "identity_CelebA.txt"):
        (root / name).write_bytes((tiny_celeba / name).read_bytes())
    (root / "img_align_celeba").symlink_to(tiny_celeba / "img_align_celeba")
    moved = [f"{first} 2" if line.split()[0] == first else line for line in lines]
    (root / "list_eval_partition.txt").write_text("\n".join(moved) + "\n")
    with caplog.at_level(logging.WARNING, logger="facetransfer.data.celeba"):
        load_celeba(root)
    assert "puts 1 people in more than one split" in caplog.text


def test_check_needs_identities(tmp_path, tiny_celeba):
    celeba = load_celeba(tiny_celeba)
    celeba.identity = None
    with pytest.raises(ValueError, match="no identity file"):
        check_identity_disjoint(celeba)


# --- negatives for the person -------------------------------------------------------------------


def test_celeba_negatives_skip_base_test_images_share_no_person_and_exclude_the_person(
    tmp_path, tiny_celeba
):
    celeba = load_celeba(tiny_celeba)
    _fill(tmp_path / "fotos" / "paco", range(10), {})
    person = int(celeba.identity[celeba.partition == 0].iloc[0])  # say paco is this CelebA person
    frame = fotos.split_fotos(
        tmp_path / "fotos",
        "paco",
        celeba,
        n_celeba_negatives=1000,
        seed=1,
        exclude_identities=[person],
    )
    negatives = frame[frame["source"] == "celeba"]
    names = negatives["path"].map(lambda p: Path(p).name)
    assert len(negatives) == int(celeba.partition.isin([0, 1]).sum()) - int(
        ((celeba.identity == person) & celeba.partition.isin([0, 1])).sum()
    )
    assert (celeba.partition.loc[names] != 2).all(), "an image that tests the base"
    assert person not in set(celeba.identity.loc[names]), "the person as a negative"
    who = celeba.identity.loc[names].to_numpy()
    splits = negatives["split"].to_numpy()
    for a in fotos.SPLITS:
        for b in fotos.SPLITS:
            if a < b:
                assert not set(who[splits == a]) & set(who[splits == b]), (a, b)
    assert (negatives["group"] == fotos.NO_GROUP).all()
