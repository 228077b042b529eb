"""CelebA label files (official .txt and Kaggle .csv), layouts, splits and the real sample."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shared_data import SHARED_DATA

from facetransfer.data.celeba import CelebA, find_celeba_files, load_celeba
from facetransfer.data.labels import (
    ATTRIBUTE_NAMES,
    SPLITS,
    LabelFileError,
    read_attributes,
    read_identities,
    read_partition,
)

# --------------------------------------------------------------------------------------------
# Synthetic label files, written the way the real ones are.


def image_ids(n: int, first: int = 1) -> list[str]:
    return [f"{i:06d}.jpg" for i in range(first, first + n)]


def random_values(n: int, seed: int = 0) -> np.ndarray:
    """An (n, 40) array of -1/1, as in the files."""
    return np.where(np.random.default_rng(seed).random((n, 40)) < 0.3, 1, -1)


def official_attr_lines(ids: list[str], values: np.ndarray) -> list[str]:
    """The official layout: count, names, then ids and values right-aligned (double spaces)."""
    rows = [f"{i} " + " ".join(f"{v:2d}" for v in row) for i, row in zip(ids, values, strict=True)]
    return [str(len(ids)), " ".join(ATTRIBUTE_NAMES), *rows]


def kaggle_attr_lines(ids: list[str], values: np.ndarray) -> list[str]:
    rows = [f"{i}," + ",".join(str(v) for v in row) for i, row in zip(ids, values, strict=True)]
    return ["image_id," + ",".join(ATTRIBUTE_NAMES), *rows]


def write_lines(
    path: Path, lines: list[str], newline: str = "\n", bom: bool = False, final: bool = True
) -> Path:
    text = newline.join(lines) + (newline if final else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def make_celeba(
    root: Path,
    n: int = 20,
    present: int | None = None,
    kaggle: bool = False,
    partition: list[int] | None = None,
    identities: list[int] | None = None,
    seed: int = 0,
) -> tuple[list[str], np.ndarray]:
    """A CelebA folder of ``n`` listed images of which the first ``present`` exist (empty files:
    loading labels never opens them)."""
    ids, values = image_ids(n), random_values(n, seed)
    root.mkdir(parents=True, exist_ok=True)
    image_dir = root / "img_align_celeba"
    if kaggle:
        image_dir = image_dir / "img_align_celeba"
        write_lines(root / "list_attr_celeba.csv", kaggle_attr_lines(ids, values))
    else:
        write_lines(root / "list_attr_celeba.txt", official_attr_lines(ids, values), "\r\n")
    image_dir.mkdir(parents=True)
    for image_id in ids[: n if present is None else present]:
        (image_dir / image_id).touch()
    if partition is not None:
        if kaggle:
            rows = ["image_id,partition"] + [
                f"{i},{p}" for i, p in zip(ids, partition, strict=True)
            ]
            write_lines(root / "list_eval_partition.csv", rows)
        else:
            rows = [f"{i} {p}" for i, p in zip(ids, partition, strict=True)]
            write_lines(root / "list_eval_partition.txt", rows, "\r\n")
    if identities is not None:
        rows = [f"{i} {p}" for i, p in zip(ids, identities, strict=True)]
        write_lines(root / "identity_CelebA.txt", rows, "\r\n")
    return ids, values


def eighty_ten_ten(n: int) -> list[int]:
    return [0] * (n * 8 // 10) + [1] * (n // 10) + [2] * (n - n * 8 // 10 - n // 10)


# --------------------------------------------------------------------------------------------
# Reading well-formed files.


def test_official_txt_with_crlf_and_double_spaces(tmp_path):
    ids, values = image_ids(5), random_values(5)
    lines = official_attr_lines(ids, values)
    assert "  1" in lines[2]  # the real file's right alignment is really exercised
    path = write_lines(tmp_path / "list_attr_celeba.txt", lines, "\r\n")

    table = read_attributes(path)

    assert list(table.columns) == list(ATTRIBUTE_NAMES)
    assert table.index.name == "image_id"
    assert list(table.index) == ids
    assert (table.dtypes == np.uint8).all()
    np.testing.assert_array_equal(table.to_numpy(), (values == 1).astype(np.uint8))


def test_bom_and_no_final_newline(tmp_path):
    ids, values = image_ids(3), random_values(3)
    path = write_lines(
        tmp_path / "a.txt", official_attr_lines(ids, values), "\r\n", bom=True, final=False
    )
    table = read_attributes(path)
    assert table.shape == (3, 40)
    assert table.index[-1] == ids[-1]
    np.testing.assert_array_equal(table.to_numpy()[-1], values[-1] == 1)


def test_kaggle_csv_reads_like_the_official_txt(tmp_path):
    ids, values = image_ids(6), random_values(6)
    txt = write_lines(tmp_path / "list_attr_celeba.txt", official_attr_lines(ids, values))
    csv = write_lines(tmp_path / "list_attr_celeba.csv", kaggle_attr_lines(ids, values), bom=True)
    pd.testing.assert_frame_equal(read_attributes(csv), read_attributes(txt))


def test_format_is_chosen_by_content_not_suffix(tmp_path):
    ids, values = image_ids(4), random_values(4)
    misnamed = write_lines(tmp_path / "attributes.txt", kaggle_attr_lines(ids, values))
    assert list(read_attributes(misnamed).index) == ids


def test_header_names_in_another_order_keep_the_file_order(tmp_path):
    names = list(reversed(ATTRIBUTE_NAMES))
    lines = ["2", " ".join(names), "a.jpg " + " ".join(["1"] + ["-1"] * 39), "b.jpg " + "-1 " * 40]
    table = read_attributes(write_lines(tmp_path / "a.txt", lines))
    assert list(table.columns) == names
    assert table.loc["a.jpg", "Young"] == 1 and table.loc["a.jpg", "Wearing_Necktie"] == 0


@pytest.mark.parametrize("header", ["image_id,partition", "id,partition", None])
def test_partition_csv_and_txt(tmp_path, header):
    ids = image_ids(3)
    rows = [f"{i},{p}" for i, p in zip(ids, [0, 2, 1], strict=True)]
    path = write_lines(tmp_path / "p.csv", ([header] if header else []) + rows, "\r\n")
    partition = read_partition(path)
    assert partition.name == "partition" and partition.dtype == np.int8
    assert partition.index.name == "image_id"
    assert partition.to_dict() == {ids[0]: 0, ids[1]: 2, ids[2]: 1}


def test_partition_official_txt(tmp_path):
    ids = image_ids(3)
    path = write_lines(
        tmp_path / "list_eval_partition.txt",
        [f"{i} {p}" for i, p in zip(ids, [2, 1, 0], strict=True)],
    )
    assert read_partition(path).tolist() == [2, 1, 0]


def test_identities(tmp_path):
    ids = image_ids(3)
    lines = [f"{i} {p}" for i, p in zip(ids, [2880, 2937, 8692], strict=True)]
    identity = read_identities(write_lines(tmp_path / "identity_CelebA.txt", lines, "\r\n"))
    assert identity.name == "identity" and identity.dtype == np.int64
    assert identity.to_dict() == {ids[0]: 2880, ids[1]: 2937, ids[2]: 8692}


def test_a_full_size_file_parses_in_seconds(tmp_path):
    """202,599 rows, as the real file: the parser must be vectorised, not a loop per value."""
    patterns = random_values(7)
    rows = [" ".join(f"{v:2d}" for v in row) for row in patterns]
    n = 202_599
    text = f"{n}\r\n" + " ".join(ATTRIBUTE_NAMES) + "\r\n"
    text += "".join(f"{i:06d}.jpg {rows[i % 7]}\r\n" for i in range(1, n + 1))
    path = tmp_path / "list_attr_celeba.txt"
    path.write_text(text, newline="")

    start = time.perf_counter()
    table = read_attributes(path)
    elapsed = time.perf_counter() - start

    assert table.shape == (n, 40)
    np.testing.assert_array_equal(table.iloc[n - 1], patterns[n % 7] == 1)
    assert elapsed < 5, f"parsing took {elapsed:.1f} s"


# --------------------------------------------------------------------------------------------
# Malformed files: each names the file and the 1-based line.


def _official_lines(n: int = 6) -> list[str]:
    return official_attr_lines(image_ids(n), random_values(n))


def _replace_value(line: str, column: int, value: str) -> str:
    fields = line.split()
    fields[column + 1] = value
    return " ".join(fields)


def _bad_attribute_cases():
    # (id, change to the official lines, line number reported, words in the message)
    yield "count not a number", lambda ls: ["six", *ls[1:]], 1, "number of rows"
    yield "count disagrees", lambda ls: ["7", *ls[1:]], 1, "row count says 7"
    yield "39 names", lambda ls: [ls[0], ls[1].rsplit(" ", 1)[0], *ls[2:]], 2, "found 39"
    yield "41 names", lambda ls: [ls[0], ls[1] + " Tall", *ls[2:]], 2, "found 41"
    yield "unknown name", lambda ls: [ls[0], ls[1].replace("Male", "Man"), *ls[2:]], 2, "Man"
    yield "repeated name", lambda ls: [ls[0], ls[1].replace("Young", "Male"), *ls[2:]], 2, "Male"
    yield "too many fields", lambda ls: [*ls[:4], ls[4] + "  1", *ls[5:]], 5, "found 42"
    yield "too few fields", lambda ls: [*ls[:3], ls[3][:-3], *ls[4:]], 4, "found 40"
    yield (
        "value 0",
        lambda ls: [*ls[:5], _replace_value(ls[5], 2, "0"), *ls[6:]],
        6,
        "Attractive is '0'",
    )
    yield "value 2", lambda ls: [*ls[:2], _replace_value(ls[2], 39, "2"), *ls[3:]], 3, "Young"
    yield "value +1", lambda ls: [*ls[:6], _replace_value(ls[6], 0, "+1"), *ls[7:]], 7, "'+1'"
    yield "value 1.0", lambda ls: [*ls[:7], _replace_value(ls[7], 5, "1.0"), *ls[8:]], 8, "Bangs"
    yield (
        "duplicate id",
        lambda ls: [*ls[:7], ls[7].replace(image_ids(6)[5], image_ids(1)[0])],
        8,
        "first on line 3",
    )
    yield "blank line inside", lambda ls: [*ls[:4], "", *ls[4:]], 5, "blank line"
    yield "no rows", lambda ls: ["0", ls[1]], 3, "no image rows"
    yield "names missing", lambda ls: ["0"], 2, "attribute names"


@pytest.mark.parametrize(
    "change, line, words",
    [case[1:] for case in _bad_attribute_cases()],
    ids=[case[0] for case in _bad_attribute_cases()],
)
def test_malformed_official_attributes(tmp_path, change, line, words):
    path = write_lines(tmp_path / "list_attr_celeba.txt", change(_official_lines()), "\r\n")
    with pytest.raises(LabelFileError) as caught:
        read_attributes(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}: "), message
    assert words in message
    assert caught.value.line == line


def _kaggle_lines(n: int = 4) -> list[str]:
    return kaggle_attr_lines(image_ids(n), random_values(n))


def _empty_csv_field(line: str, field: int) -> str:
    fields = line.split(",")
    fields[field] = ""
    return ",".join(fields)


@pytest.mark.parametrize(
    "change, line, words",
    [
        (lambda ls: [ls[0].rsplit(",", 1)[0], *ls[1:]], 1, "found 39"),
        (lambda ls: [*ls[:2], ls[2].rsplit(",", 1)[0], *ls[3:]], 3, "found 40"),
        (lambda ls: [*ls[:3], _empty_csv_field(ls[3], 5), *ls[4:]], 4, "an empty field"),
        (lambda ls: [ls[0], ls[1].replace(",-1", ",0", 1), *ls[2:]], 2, "'0'"),
        (lambda ls: [*ls[:4], ls[1]], 5, "first on line 2"),
    ],
    ids=["header 39", "row 40 fields", "empty field", "value 0", "duplicate id"],
)
def test_malformed_kaggle_attributes(tmp_path, change, line, words):
    path = write_lines(tmp_path / "list_attr_celeba.csv", change(_kaggle_lines()))
    with pytest.raises(LabelFileError, match=rf"^.*list_attr_celeba\.csv, line {line}: .*{words}"):
        read_attributes(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"\r\n\r\n  \r\n", b"\xef\xbb\xbf"],
    ids=["empty", "blank lines", "only a BOM"],
)
@pytest.mark.parametrize("reader", [read_attributes, read_partition, read_identities])
def test_empty_files(tmp_path, content, reader):
    path = tmp_path / "labels.txt"
    path.write_bytes(content)
    with pytest.raises(LabelFileError, match=r"labels\.txt, line 1: the file is empty"):
        reader(path)


def test_utf16_file_is_refused_clearly(tmp_path):
    path = tmp_path / "list_attr_celeba.txt"
    path.write_text("\n".join(_official_lines()), encoding="utf-16")
    with pytest.raises(LabelFileError, match="line 1: not UTF-8"):
        read_attributes(path)


@pytest.mark.parametrize(
    "lines, line, words",
    [
        (["a.jpg 0", "b.jpg 3"], 2, "'3'"),
        (["a.jpg 0", "b.jpg -1"], 2, "'-1'"),
        (["image_id,partition", "a.jpg,0", "b.jpg,1,2"], 3, "found 3"),
        (["id,partition", "a.jpg,0", "b.jpg,1", "a.jpg,2"], 4, "first on line 2"),
        (["a.jpg 0", "b.jpg"], 2, "found 1"),
        (["image_id,partition"], 2, "no image rows"),
        (["a.jpg train", "b.jpg 0"], 1, "'train'"),
    ],
    ids=["value 3", "value -1", "three fields", "duplicate", "one field", "header only", "word"],
)
def test_malformed_partition(tmp_path, lines, line, words):
    path = write_lines(tmp_path / "list_eval_partition.csv", lines, "\r\n")
    with pytest.raises(LabelFileError, match=rf"list_eval_partition\.csv, line {line}: .*{words}"):
        read_partition(path)


@pytest.mark.parametrize(
    "lines, line, words",
    [
        (["a.jpg 1", "b.jpg 2", "c.jpg x7"], 3, "'x7'"),
        (["a.jpg 1", "b.jpg -2"], 2, "'-2'"),
        (["a.jpg 1", "b.jpg 1.5"], 2, "'1.5'"),
        (["a.jpg 1", "b.jpg 2 3"], 2, "found 3"),
    ],
    ids=["letters", "negative", "decimal", "three fields"],
)
def test_malformed_identities(tmp_path, lines, line, words):
    path = write_lines(tmp_path / "identity_CelebA.txt", lines)
    with pytest.raises(LabelFileError, match=rf"identity_CelebA\.txt, line {line}: .*{words}"):
        read_identities(path)


# --------------------------------------------------------------------------------------------
# Layouts and loading.


def test_find_official_and_kaggle_layouts(tmp_path):
    make_celeba(tmp_path / "official", partition=eighty_ten_ten(20), identities=[1] * 20)
    official = find_celeba_files(tmp_path / "official")
    assert official.image_dir == tmp_path / "official" / "img_align_celeba"
    assert official.attributes.name == "list_attr_celeba.txt"
    assert official.partition.name == "list_eval_partition.txt"
    assert official.identities.name == "identity_CelebA.txt"

    make_celeba(tmp_path / "kaggle", kaggle=True, partition=eighty_ten_ten(20))
    kaggle = find_celeba_files(tmp_path / "kaggle")
    assert kaggle.image_dir == tmp_path / "kaggle" / "img_align_celeba" / "img_align_celeba"
    assert kaggle.attributes.name == "list_attr_celeba.csv"
    assert kaggle.partition.name == "list_eval_partition.csv"
    assert kaggle.identities is None


def test_missing_parts_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_celeba_files(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as caught:
        find_celeba_files(tmp_path)
    message = str(caught.value)
    assert "img_align_celeba/" in message and "list_attr_celeba.txt or" in message
    assert "official:" in message and "Kaggle:" in message

    (tmp_path / "img_align_celeba").mkdir()
    with pytest.raises(FileNotFoundError) as caught:
        find_celeba_files(tmp_path)
    assert "attribute file" in str(caught.value)
    assert "image folder" not in str(caught.value)


def test_kaggle_layout_loads_like_the_official_one(tmp_path):
    make_celeba(tmp_path / "official", partition=eighty_ten_ten(20))
    make_celeba(tmp_path / "kaggle", kaggle=True, partition=eighty_ten_ten(20))
    official, kaggle = load_celeba(tmp_path / "official"), load_celeba(tmp_path / "kaggle")
    pd.testing.assert_frame_equal(kaggle.attributes, official.attributes)
    pd.testing.assert_series_equal(kaggle.partition, official.partition)
    assert kaggle.paths(["000003.jpg"])[0].is_file()


def test_missing_images_are_counted_and_logged(tmp_path, caplog):
    ids, values = make_celeba(tmp_path, n=20, present=13, partition=eighty_ten_ten(20))
    (tmp_path / "img_align_celeba" / "unlisted.jpg").touch()  # on disk, not labelled: ignored
    with caplog.at_level(logging.INFO, logger="facetransfer.data.celeba"):
        celeba = load_celeba(tmp_path)

    assert (celeba.n_listed, celeba.n_missing) == (20, 7)
    assert list(celeba.attributes.index) == ids[:13]
    np.testing.assert_array_equal(celeba.attributes.to_numpy(), values[:13] == 1)
    assert celeba.partition.index.equals(celeba.attributes.index)
    assert celeba.partition.tolist() == eighty_ten_ten(20)[:13]
    assert any("7 missing" in record.getMessage() for record in caplog.records)
    assert all(path.is_file() for path in celeba.paths(celeba.attributes))


def test_partition_extras_ignored_and_gaps_dropped_with_a_warning(tmp_path, caplog):
    ids, _ = make_celeba(tmp_path, n=10)
    rows = [f"{i} 0" for i in ids[:8]] + ["999999.jpg 1", "999998.jpg 2"]
    write_lines(tmp_path / "list_eval_partition.txt", rows)
    with caplog.at_level(logging.WARNING, logger="facetransfer.data.celeba"):
        celeba = load_celeba(tmp_path)

    assert list(celeba.attributes.index) == ids[:8]
    assert "999999.jpg" not in celeba.partition.index
    assert celeba.split_sizes() == {"train": 8, "validation": 0, "test": 0}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("for 2 of the 10 images" in message for message in warnings), warnings


def test_identities_are_aligned_to_the_images(tmp_path):
    ids, _ = make_celeba(
        tmp_path, n=10, present=6, partition=eighty_ten_ten(10), identities=list(range(100, 110))
    )
    celeba = load_celeba(tmp_path)
    assert celeba.identity.index.equals(celeba.attributes.index)
    assert celeba.identity.tolist() == list(range(100, 106))
    assert "6 identities" in celeba.describe()


def test_split_paths_and_describe(tmp_path):
    ids, values = make_celeba(tmp_path, n=20, present=18, partition=eighty_ten_ten(20))
    celeba = load_celeba(tmp_path)
    assert isinstance(celeba, CelebA)
    assert list(celeba.split("train").index) == ids[:16]
    assert list(celeba.split("validation").index) == ids[16:18]
    assert celeba.split("test").empty
    assert sum(len(celeba.split(name)) for name in SPLITS) == 18
    with pytest.raises(ValueError, match="train, validation, test"):
        celeba.split("val")

    assert celeba.paths(["000002.jpg"]) == [tmp_path / "img_align_celeba" / "000002.jpg"]
    assert celeba.paths(celeba.split("validation")) == [
        tmp_path / "img_align_celeba" / i for i in ids[16:18]
    ]

    line = celeba.describe()
    assert "\n" not in line
    for words in (str(tmp_path), "18 images", "train 16", "validation 2", "test 0", "2 of 20"):
        assert words in line, line
    assert "no identities" in line


def test_fallback_split_is_seeded_80_10_10(tmp_path):
    make_celeba(tmp_path, n=100)
    first, again = load_celeba(tmp_path, seed=3), load_celeba(tmp_path, seed=3)
    other = load_celeba(tmp_path, seed=4)

    pd.testing.assert_series_equal(first.partition, again.partition)
    assert not first.partition.equals(other.partition)
    assert first.split_sizes() == {"train": 80, "validation": 10, "test": 10}
    assert "seed 3" in first.describe()


def test_fallback_split_keeps_each_person_in_one_split(tmp_path):
    people = np.repeat(np.arange(40), 5)  # 40 people, 5 photos each
    people = np.random.default_rng(0).permutation(people).tolist()
    make_celeba(tmp_path, n=200, identities=people)
    celeba = load_celeba(tmp_path, seed=1)

    splits_per_person = celeba.partition.groupby(celeba.identity).nunique()
    assert (splits_per_person == 1).all()
    assert celeba.split_sizes() == {"train": 160, "validation": 20, "test": 20}
    pd.testing.assert_series_equal(celeba.partition, load_celeba(tmp_path, seed=1).partition)
    assert not celeba.partition.equals(load_celeba(tmp_path, seed=2).partition)


def test_limit_keeps_splits_proportional_deterministic_and_nested(tmp_path):
    make_celeba(tmp_path, n=100, partition=eighty_ten_ten(100), identities=list(range(100)))
    small = load_celeba(tmp_path, limit=40, seed=5)
    assert small.split_sizes() == {"train": 40, "validation": 5, "test": 5}
    assert small.identity.index.equals(small.attributes.index)
    assert small.partition.index.equals(small.attributes.index)

    again = load_celeba(tmp_path, limit=40, seed=5)
    assert small.attributes.index.equals(again.attributes.index)
    assert not small.attributes.index.equals(
        load_celeba(tmp_path, limit=40, seed=6).attributes.index
    )

    smaller = load_celeba(tmp_path, limit=8, seed=5)
    assert smaller.split_sizes() == {"train": 8, "validation": 1, "test": 1}
    assert set(smaller.attributes.index) <= set(small.attributes.index)
    assert smaller.n_listed == 100

    assert len(load_celeba(tmp_path, limit=1000).attributes) == 100
    with pytest.raises(ValueError, match="limit"):
        load_celeba(tmp_path, limit=0)


# --------------------------------------------------------------------------------------------
# The real sample.

REAL = SHARED_DATA / "celeba"


@pytest.mark.skipif(not (REAL / "list_attr_celeba.txt").is_file(), reason="no shared CelebA sample")
def test_real_celeba_sample():
    start = time.perf_counter()
    celeba = load_celeba(REAL)
    elapsed = time.perf_counter() - start

    assert elapsed < 10, f"loading took {elapsed:.1f} s"
    assert celeba.n_listed == 202_599
    assert len(celeba.attributes) == 14_155
    assert celeba.n_missing == 202_599 - 14_155
    assert list(celeba.attributes.columns) == list(ATTRIBUTE_NAMES)
    assert celeba.partition.index.equals(celeba.attributes.index)
    assert celeba.identity is not None and celeba.identity.index.equals(celeba.attributes.index)
    assert sum(celeba.split_sizes().values()) == 14_155

    share = celeba.attributes.mean()
    majority_accuracy = np.maximum(share, 1 - share).mean()
    assert 0.78 < majority_accuracy < 0.83, majority_accuracy


# --------------------------------------------------------------------------------------------
# Rows missing for images on disk, and BOM/CRLF in the two-column files.


def test_images_without_an_attribute_row_are_counted_and_named(tmp_path, caplog):
    make_celeba(tmp_path, n=10, partition=eighty_ten_ten(10))
    image_dir = tmp_path / "img_align_celeba"
    for name in ("000011.jpg", "000012.jpg", "extra photo.png"):
        (image_dir / name).touch()
    (image_dir / "notes.txt").write_text("not an image: not counted")
    with caplog.at_level(logging.WARNING, logger="facetransfer.data.celeba"):
        celeba = load_celeba(tmp_path)
    assert celeba.n_unlabelled == 3
    assert len(celeba.attributes) == 10
    message = next(r.getMessage() for r in caplog.records if "no row in" in r.getMessage())
    assert "3 image files have no row in list_attr_celeba.txt" in message
    assert "000011.jpg" in message


@pytest.mark.parametrize("reader", [read_partition, read_identities])
def test_two_column_files_with_bom_and_crlf(tmp_path, reader):
    path = write_lines(
        tmp_path / "labels.csv",
        ["image_id,value", "000001.jpg,0", "000002.jpg,2"],
        newline="\r\n",
        bom=True,
    )
    values = reader(path)
    assert list(values.index) == ["000001.jpg", "000002.jpg"]
    assert values.tolist() == [0, 2]
