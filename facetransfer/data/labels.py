"""CelebA's label files, read strictly: attributes, partition and identities.

Two layouts of the same data are accepted:

- the official one: ``img_align_celeba/``, ``list_attr_celeba.txt`` (line 1 the row count, line 2
  the 40 attribute names, then ``000001.jpg -1  1 ...``), ``list_eval_partition.txt``
  (``000001.jpg 0``) and ``identity_CelebA.txt`` (``000001.jpg 2880``);
- Kaggle's: ``img_align_celeba/img_align_celeba/``, ``list_attr_celeba.csv``
  (``image_id,5_o_Clock_Shadow,...``) and ``list_eval_partition.csv`` (``image_id,partition``).

Labels are -1/1 in the files and 0/1 (uint8) in memory. A file that breaks its format raises
:class:`LabelFileError` naming the file and the 1-based line, instead of silently yielding wrong
labels. Parsing works on the whole file at once with numpy, so the 202,599-row attribute file reads
in well under a second; no Python loop runs per value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ATTRIBUTE_NAMES: tuple[str, ...] = (
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)

SPLITS = ("train", "validation", "test")
SPLIT_CODES = {name: code for code, name in enumerate(SPLITS)}  # the partition file's 0/1/2

IMAGE_DIR_NAME = "img_align_celeba"
ATTRIBUTE_FILES = ("list_attr_celeba.txt", "list_attr_celeba.csv")
PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
IDENTITY_FILES = ("identity_CelebA.txt", "identity_CelebA.csv")

FALLBACK_FRACTIONS = (0.8, 0.1, 0.1)  # train, validation, test when there is no partition file

ACCEPTED_LAYOUTS = (
    "official: root/img_align_celeba/*.jpg, root/list_attr_celeba.txt "
    "[, list_eval_partition.txt, identity_CelebA.txt]; "
    "Kaggle: root/img_align_celeba/img_align_celeba/*.jpg, root/list_attr_celeba.csv "
    "[, list_eval_partition.csv]"
)

_UTF8_BOM = b"\xef\xbb\xbf"
_NEWLINE, _COMMA, _MINUS, _ZERO, _ONE, _NINE = (ord(c) for c in "\n,-019")


class LabelFileError(ValueError):
    """A label file that breaks its format. The message reads ``"<path>, line <n>: <what>"``."""

    def __init__(self, path: str | os.PathLike, line: int, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{path}, line {line}: {problem}")


# --------------------------------------------------------------------------------------------
# Low-level text handling: whole-file, vectorised.


def _read_label_bytes(path: Path) -> bytes:
    """The file's bytes with the BOM removed, line ends made ``\\n`` and trailing blanks dropped.

    Checks that the file is UTF-8 text and not empty; a missing final newline is fine.
    """
    raw = Path(path).read_bytes()
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    # Windows (CRLF) and old Mac (CR) line ends become plain newlines, so line numbers agree with
    # what an editor shows whatever the file's origin.
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise LabelFileError(path, line, "not UTF-8 text (saved as UTF-16 or binary?)") from None
    if not raw:
        raise LabelFileError(path, 1, "the file is empty")
    return raw


def _take_lines(raw: bytes, count: int) -> tuple[list[str], bytes]:
    """The first ``count`` lines as text (fewer if the file is shorter) and the bytes after them."""
    lines: list[str] = []
    pos = 0
    for _ in range(count):
        if pos >= len(raw):
            break
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        lines.append(raw[pos:end].decode("utf-8"))
        pos = end + 1
    return lines, raw[pos:]


def _is_separated_by_commas(first_line: str) -> bool:
    """Kaggle's files are CSV; the official ones are whitespace separated."""
    return "," in first_line


@dataclass
class _Table:
    """Rows of a fixed number of fields, as byte offsets into ``data``.

    ``starts[r, f]`` and ``ends[r, f]`` bound field ``f`` of row ``r``; row ``r`` is on line
    ``first_line + r`` of the file.
    """

    path: Path
    first_line: int
    data: bytes
    buf: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, row: int) -> int:
        return self.first_line + int(row)

    def text(self, row: int, field: int) -> str:
        start, end = int(self.starts[row, field]), int(self.ends[row, field])
        return self.data[start:end].decode("utf-8", errors="replace")

    def column(self, field: int) -> list[str]:
        """One field of every row, as text (one slice per row: fast enough for 200k rows)."""
        data = self.data
        return [
            data[start:end].decode("utf-8")
            for start, end in zip(
                self.starts[:, field].tolist(), self.ends[:, field].tolist(), strict=True
            )
        ]

    def error(self, row: int, problem: str) -> LabelFileError:
        return LabelFileError(self.path, self.line(row), problem)


def _split_rows(path: Path, data: bytes, first_line: int, n_fields: int, csv: bool) -> _Table:
    """Split ``data`` (the lines after any header) into rows of exactly ``n_fields`` fields.

    Whitespace separates fields (runs of it count once, as the official files align values with
    double spaces); with ``csv`` a comma does, and spaces around fields are tolerated.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    if csv:
        buf = buf.copy()
    newlines = np.flatnonzero(buf == _NEWLINE)
    n_rows = len(newlines) + 1 if len(buf) else 0

    def row_of(positions: np.ndarray) -> np.ndarray:
        # The number of newlines before a position is its row.
        return np.searchsorted(newlines, positions)

    if csv:
        commas = np.flatnonzero(buf == _COMMA)
        per_row = np.bincount(row_of(commas), minlength=n_rows) + 1
        bad = np.flatnonzero(per_row != n_fields)
        if len(bad):
            row = bad[0]
            raise LabelFileError(
                path,
                first_line + int(row),
                f"expected {n_fields} comma-separated fields, found {per_row[row]}",
            )
        buf[commas] = ord(" ")

    blank = buf <= ord(" ")  # spaces, tabs and the newline itself
    filled = ~blank
    after_blank = np.concatenate(([True], blank[:-1]))
    before_blank = np.concatenate((blank[1:], [True]))
    starts = np.flatnonzero(filled & after_blank)
    ends = np.flatnonzero(filled & before_blank) + 1
    per_row = np.bincount(row_of(starts), minlength=n_rows)
    bad = np.flatnonzero(per_row != n_fields)
    if len(bad):
        row, found = bad[0], per_row[bad[0]]
        if found == 0:
            problem = "blank line"
        elif csv:
            problem = "an empty field (or one with a space inside)"
        else:
            problem = f"expected {n_fields} whitespace-separated fields, found {found}"
        raise LabelFileError(path, first_line + int(row), problem)
    return _Table(
        path=path,
        first_line=first_line,
        data=data,
        buf=buf,
        starts=starts.reshape(n_rows, n_fields),
        ends=ends.reshape(n_rows, n_fields),
    )


def _image_index(table: _Table) -> pd.Index:
    """Column 0 as the ``image_id`` index; a repeated id is an error at its second line."""
    ids = pd.Index(table.column(0), name="image_id", dtype="str")
    repeated = np.flatnonzero(ids.duplicated())
    if len(repeated):
        row = repeated[0]
        first = int(np.flatnonzero(ids == ids[row])[0])
        raise table.error(
            row, f"duplicate image id {ids[row]!r} (first on line {table.line(first)})"
        )
    return ids


def _digits_only(table: _Table, field: int) -> np.ndarray:
    """Which rows have only ASCII digits in ``field`` (no sign, no decimal point)."""
    is_digit = (table.buf >= _ZERO) & (table.buf <= _NINE)
    non_digits = np.concatenate(([0], np.cumsum(~is_digit)))
    starts, ends = table.starts[:, field], table.ends[:, field]
    return non_digits[ends] - non_digits[starts] == 0


# --------------------------------------------------------------------------------------------
# The three label files.


def _check_attribute_names(path: Path, line: int, names: list[str]) -> None:
    """The header must name CelebA's 40 attributes, each once, in any order.

    Arbitrary names are refused on purpose: the rest of the package (evaluation, plots, the
    transfer head) looks attributes up by their CelebA names, and a file with other names is far
    more likely a wrong or shifted file than a different data set.
    """
    if len(names) != len(ATTRIBUTE_NAMES):
        raise LabelFileError(
            path, line, f"expected {len(ATTRIBUTE_NAMES)} attribute names, found {len(names)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LabelFileError(path, line, f"attribute names repeated: {', '.join(repeated)}")
    unknown = [name for name in names if name not in ATTRIBUTE_NAMES]
    if unknown:
        raise LabelFileError(
            path,
            line,
            f"not CelebA attribute names: {', '.join(unknown)} "
            f"(expected {', '.join(ATTRIBUTE_NAMES)})",
        )


def _attribute_values(table: _Table, names: list[str]) -> np.ndarray:
    """Fields 1..40 as uint8 0/1; anything but ``1`` or ``-1`` is an error."""
    buf, starts, ends = table.buf, table.starts[:, 1:], table.ends[:, 1:]
    length = ends - starts
    first = buf[starts]
    second = buf[np.minimum(starts + 1, len(buf) - 1)]
    positive = (length == 1) & (first == _ONE)
    negative = (length == 2) & (first == _MINUS) & (second == _ONE)
    bad = np.flatnonzero(~(positive | negative))
    if len(bad):
        row, column = divmod(int(bad[0]), len(names))
        value = table.text(row, column + 1)
        raise table.error(row, f"{names[column]} is {value!r}; values must be 1 or -1")
    return positive.astype(np.uint8)


def read_attributes(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``list_attr_celeba.txt`` (official) or ``list_attr_celeba.csv`` (Kaggle).

    The format is chosen by content: a first line with commas is Kaggle's CSV
    (``image_id,<40 names>``), otherwise the official text (row count, then the 40 names, then
    whitespace-separated rows). A UTF-8 BOM, CRLF line ends, runs of spaces and a missing final
    newline are accepted. The header must hold CelebA's 40 names (any order, each once); columns
    keep the file's order.

    Returns a DataFrame indexed by ``image_id`` (the file name) with 40 uint8 0/1 columns.
    Raises :class:`LabelFileError` for an empty file, a bad or wrong row count, a bad header, a
    row with too many or too few fields, a value other than 1/-1, or a repeated image id.
    """
    path = Path(path)
    raw = _read_label_bytes(path)
    (first,), after_first = _take_lines(raw, 1)
    csv = _is_separated_by_commas(first)
    if csv:
        names = [field.strip() for field in first.split(",")][1:]  # field 0: image_id, id, ...
        _check_attribute_names(path, 1, names)
        data, first_row_line, expected_rows = after_first, 2, None
    else:
        expected_rows = _parse_row_count(path, first)
        (names_line,), data = _take_lines(after_first, 1) if after_first else ([None], b"")
        if names_line is None:
            raise LabelFileError(path, 2, "missing the line of attribute names")
        names = names_line.split()
        _check_attribute_names(path, 2, names)
        first_row_line = 3
    if not data:
        raise LabelFileError(path, first_row_line, "no image rows after the header")
    table = _split_rows(path, data, first_row_line, 1 + len(names), csv)
    if expected_rows is not None and expected_rows != len(table):
        raise LabelFileError(
            path, 1, f"the row count says {expected_rows} but the file has {len(table)} rows"
        )
    values = _attribute_values(table, names)
    index = _image_index(table)
    return pd.DataFrame(values, index=index, columns=pd.Index(names, dtype="str"))


def _parse_row_count(path: Path, line: str) -> int:
    text = line.strip()
    if not (text.isascii() and text.isdigit()):
        raise LabelFileError(path, 1, f"expected the number of rows, found {text[:40]!r}")
    return int(text)


def _read_two_columns(path: Path) -> _Table:
    """An ``image_id value`` file, with or without a header line, whitespace or comma separated.

    The first line is a header when its second field is not a number and its first is not a
    file name (Kaggle's ``image_id,partition`` or ``id,partition``); the official files have
    none. A first row like ``000001.jpg train`` is therefore reported, not taken for a header.
    """
    raw = _read_label_bytes(path)
    (first,), rest = _take_lines(raw, 1)
    csv = _is_separated_by_commas(first)
    fields = [field.strip() for field in first.split(",")] if csv else first.split()
    has_header = (
        len(fields) == 2
        and "." not in fields[0]
        and not (fields[1].isascii() and fields[1].isdigit())
    )
    if not has_header:
        return _split_rows(path, raw, 1, 2, csv)
    if not rest:
        raise LabelFileError(path, 2, "no image rows after the header")
    return _split_rows(path, rest, 2, 2, csv)


def read_partition(path: str | os.PathLike) -> pd.Series:
    """Read ``list_eval_partition.txt`` (``000001.jpg 0``) or ``.csv`` (``image_id,partition``).

    Returns an int8 Series named ``partition`` indexed by ``image_id``: 0 train, 1 validation,
    2 test. Any other value, a malformed row or a repeated id raises :class:`LabelFileError`.
    """
    table = _read_two_columns(Path(path))
    length = table.ends[:, 1] - table.starts[:, 1]
    code = table.buf[table.starts[:, 1]].astype(np.int16) - _ZERO
    bad = np.flatnonzero((length != 1) | (code < 0) | (code > 2))
    if len(bad):
        value = table.text(bad[0], 1)
        raise table.error(bad[0], f"partition is {value!r}; must be 0, 1 or 2 (train/val/test)")
    return pd.Series(code.astype(np.int8), index=_image_index(table), name="partition")


def read_identities(path: str | os.PathLike) -> pd.Series:
    """Read ``identity_CelebA.txt`` (``000001.jpg 2880``, no header).

    Returns an int64 Series named ``identity`` indexed by ``image_id``. A value that is not a
    non-negative integer, a malformed row or a repeated id raises :class:`LabelFileError`.
    """
    table = _read_two_columns(Path(path))
    digits = _digits_only(table, 1)
    too_long = table.ends[:, 1] - table.starts[:, 1] > 15  # beyond int64's exact range
    bad = np.flatnonzero(~digits | too_long)
    if len(bad):
        value = table.text(bad[0], 1)
        raise table.error(bad[0], f"identity is {value!r}; must be a non-negative integer")
    identity = np.array(table.column(1)).astype(np.int64)
    return pd.Series(identity, index=_image_index(table), name="identity")
