"""Tests for facetransfer.data.images: every awkward file is generated here, in tmp_path."""

from __future__ import annotations

import logging
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetransfer.data.images import (
    IMAGE_SUFFIXES,
    SKIP_KINDS,
    ImageReadError,
    SkipSummary,
    ignored_entries,
    list_images,
    read_images,
    read_rgb,
    read_scaled,
    resize,
)


def quadrants(width: int = 48, height: int = 32) -> np.ndarray:
    """An asymmetric test card: red, green / blue, white quadrants (top-left is red)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    h2, w2 = height // 2, width // 2
    image[:h2, :w2] = (255, 0, 0)
    image[:h2, w2:] = (0, 255, 0)
    image[h2:, :w2] = (0, 0, 255)
    image[h2:, w2:] = (255, 255, 255)
    return image


def save(array: np.ndarray, path: Path, **kwargs) -> Path:
    Image.fromarray(array).save(path, **kwargs)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but holds almost no data (no memory needed)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    data = (
        png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + png_chunk(b"IEND", b"")
    )
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)
    return path


def flat_grey_jpeg(path: Path, width: int, height: int) -> Path:
    """A real baseline greyscale JPEG of a flat grey (128) picture of any size, written without
    ever holding its pixels: 20000x15000 takes 1.2 MB on disk and no memory to make.

    Huffman tables with a single one-bit code each make every 8x8 block two zero bits (DC
    difference 0, then end of block), so the scan is just zero bytes.
    """

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">HH", marker, len(payload) + 2) + payload

    one_code = bytes([1] + [0] * 15)  # one code of length 1: "0"
    header = b"\xff\xd8"
    header += segment(0xFFDB, b"\x00" + bytes([1] * 64))  # quantisation table 0: all ones
    header += segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    header += segment(0xFFC4, b"\x00" + one_code + b"\x00")  # DC table: category 0 only
    header += segment(0xFFC4, b"\x10" + one_code + b"\x00")  # AC table: end-of-block only
    header += segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    path.write_bytes(header + bytes((2 * blocks + 7) // 8) + b"\xff\xd9")
    return path


def png_16bit_rgb(path: Path, values: np.ndarray) -> Path:
    """A 48-bit PNG (16 bits per channel), which PIL can read but not write."""
    height, width, _ = values.shape
    rows = values.astype(">u2")
    raw = b"".join(b"\0" + rows[y].tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    data = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data + png_chunk(b"IEND", b""))
    return path


# --- good images in every mode -------------------------------------------------------------


def test_reads_rgb_jpeg_and_png(tmp_path):
    card = quadrants()
    png = read_rgb(save(card, tmp_path / "card.png"))
    jpg = read_rgb(save(card, tmp_path / "card.jpg", quality=95))
    assert png.dtype == np.uint8 and png.shape == (32, 48, 3)
    np.testing.assert_array_equal(png, card)
    assert np.abs(jpg.astype(int) - card).mean() < 6


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[:, :10] = (0, 0, 0, 0)  # fully transparent black → white
    rgba[:, 10:] = (255, 0, 0, 128)  # half-transparent red → pink
    out = read_rgb(save(rgba, tmp_path / "alpha.png"))
    assert out.shape == (20, 20, 3)
    np.testing.assert_array_equal(out[0, 0], (255, 255, 255))
    assert abs(int(out[0, 15, 1]) - 127) <= 2 and out[0, 15, 0] == 255


def test_greyscale_becomes_three_equal_channels(tmp_path):
    grey = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (20, 1))
    out = read_rgb(save(grey, tmp_path / "grey.png"))
    assert out.shape == (20, 25, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], grey)


def test_16_bit_rgb_png_keeps_the_high_byte(tmp_path):
    values = np.zeros((18, 20, 3), dtype=np.uint16)
    values[:, :, 0] = np.linspace(0, 65535, 20).astype(np.uint16)
    values[:, :, 1] = 30000
    values[:, :, 2] = 65535
    out = read_rgb(png_16bit_rgb(tmp_path / "deep_rgb.png", values))
    assert out.shape == (18, 20, 3) and out.dtype == np.uint8
    np.testing.assert_allclose(out.astype(float), values / 257.0, atol=1)


def test_greyscale_with_alpha_is_composited_on_white(tmp_path):
    la = np.zeros((20, 20, 2), dtype=np.uint8)
    la[:, :10] = (0, 0)  # transparent black: white
    la[:, 10:] = (0, 255)  # opaque black
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    out = read_rgb(tmp_path / "la.png")
    np.testing.assert_array_equal(out[0, 0], (255, 255, 255))
    np.testing.assert_array_equal(out[0, 15], (0, 0, 0))


def test_palette_image(tmp_path):
    palette_image = Image.fromarray(quadrants()).convert("P", palette=Image.Palette.ADAPTIVE)
    palette_image.save(tmp_path / "palette.png")
    assert Image.open(tmp_path / "palette.png").mode == "P"
    out = read_rgb(tmp_path / "palette.png")
    np.testing.assert_array_equal(out, np.asarray(palette_image.convert("RGB")))


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (10, 0, 20, 20))
    image.save(tmp_path / "palette_t.png", transparency=0)
    out = read_rgb(tmp_path / "palette_t.png")
    np.testing.assert_array_equal(out[0, 0], (255, 255, 255))
    np.testing.assert_array_equal(out[0, 15], (255, 0, 0))


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (24, 24), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    out = read_rgb(tmp_path / "cmyk.jpg")
    assert out.shape == (24, 24, 3)
    np.testing.assert_allclose(out.reshape(-1, 3).mean(0), (255, 0, 0), atol=8)


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (20, 1))
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    out = read_rgb(tmp_path / "deep.png")
    expected = np.rint(values / 257.0)
    np.testing.assert_allclose(out[:, :, 0], expected, atol=1)
    assert out[0, -1, 0] == 255 and out[0, 0, 0] == 0
    assert out[0, 16, 0] == pytest.approx(expected[0, 16], abs=1)  # mid-grey, not saturated


def test_16_bit_png_holding_8_bit_values_is_read_as_those_values(tmp_path):
    grey = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (20, 1))
    Image.fromarray(grey).convert("I;16").save(tmp_path / "converted.png")  # Pillow's own way
    assert Image.open(tmp_path / "converted.png").mode.startswith("I")
    out = read_rgb(tmp_path / "converted.png")
    np.testing.assert_array_equal(out[:, :, 0], grey)  # not divided by 257 into black
    assert out.mean() > 100


# Stored pixels for each EXIF orientation, from the EXIF spec: the transform a viewer must undo.
STORED_FOR_ORIENTATION = {
    1: lambda up: up,
    2: lambda up: up[:, ::-1],  # mirrored horizontally
    3: lambda up: np.rot90(up, 2),
    4: lambda up: up[::-1],  # mirrored vertically
    5: lambda up: up.transpose(1, 0, 2),  # mirrored along the main diagonal
    6: lambda up: np.rot90(up, 1),  # viewer rotates 90° clockwise
    7: lambda up: np.rot90(up, 2).transpose(1, 0, 2),  # mirrored along the anti-diagonal
    8: lambda up: np.rot90(up, -1),  # viewer rotates 90° counter-clockwise
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_comes_out_upright(tmp_path, orientation):
    upright = quadrants(48, 32)
    stored = np.ascontiguousarray(STORED_FOR_ORIENTATION[orientation](upright))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    out = read_rgb(path)
    assert out.shape == upright.shape
    assert np.abs(out.astype(int) - upright).mean() < 8


def test_heic_if_pillow_heif_can_write_it(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "phone.heic"
    try:
        pillow_heif.from_pillow(Image.fromarray(quadrants(64, 48))).save(path, quality=95)
    except Exception as error:  # no HEVC encoder in this build
        pytest.skip(f"pillow_heif cannot write HEIC here: {error}")
    out = read_rgb(path)
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - quadrants(64, 48)).mean() < 12


def test_heic_saved_under_a_jpg_name(tmp_path):
    # Some phones and apps keep the .jpg name on HEIC files: the content decides, not the name.
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "IMG_0001.jpg"
    try:
        pillow_heif.from_pillow(Image.fromarray(quadrants(64, 48))).save(path, format="HEIF")
    except Exception as error:
        pytest.skip(f"pillow_heif cannot write HEIC here: {error}")
    assert path.read_bytes()[4:8] == b"ftyp"  # really HEIF inside
    assert np.abs(read_rgb(path).astype(int) - quadrants(64, 48)).mean() < 12


def test_non_ascii_and_spaces_in_names(tmp_path):
    path = save(quadrants(), tmp_path / "mi foto ñ 写真 é.png")
    assert read_rgb(path).shape == (32, 48, 3)
    assert list_images(tmp_path) == [path]


# --- bad input ------------------------------------------------------------------------------


def assert_read_error(path: Path, fragment: str, kind: str | None = None, **kwargs):
    with pytest.raises(ImageReadError) as info:
        read_rgb(path, **kwargs)
    assert str(path) in str(info.value)
    assert fragment in info.value.reason
    assert info.value.kind in SKIP_KINDS
    if kind is not None:
        assert info.value.kind == kind
    return info.value


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    assert_read_error(path, "empty", "empty")


def test_missing_file(tmp_path):
    assert_read_error(tmp_path / "nope.jpg", "not found", "missing")


def test_folder_named_like_a_photo(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    assert_read_error(tmp_path / "album.jpg", "folder", "folder")


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    full = save(noisy, tmp_path / "full.jpg").read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(full[: len(full) // 2])
    assert_read_error(path, "truncated", "truncated")


def test_truncated_png(tmp_path):
    rng = np.random.default_rng(1)
    full = save(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), tmp_path / "f.png").read_bytes()
    path = tmp_path / "truncated.png"
    path.write_bytes(full[: len(full) * 2 // 3])
    assert_read_error(path, "", "truncated")


@pytest.mark.parametrize(
    "content",
    [b"these are not pixels\n", b"\xff\xd8\xff", b"GIF89a", b"\x00" * 100],
    ids=["text", "jpeg-signature-only", "gif-signature-only", "zeros"],
)
def test_not_an_image_named_jpg(tmp_path, content):
    path = tmp_path / "notes.jpg"
    path.write_bytes(content)
    error = assert_read_error(path, "")
    assert error.kind in {"not_image", "truncated"}


def test_too_many_pixels_refused_small_limit(tmp_path):
    path = save(quadrants(100, 100), tmp_path / "big.png")
    assert_read_error(path, "too large", max_pixels=5_000)
    assert read_rgb(path, max_pixels=10_000).shape == (100, 100, 3)


@pytest.mark.parametrize("side", [8_000, 100_000])
def test_huge_png_header_refused_without_decoding(tmp_path, side):
    # 64 Mpx is over our 50 Mpx default; 10 Gpx also trips PIL's own DecompressionBombError.
    path = png_header_only(tmp_path / f"bomb{side}.png", side, side)
    error = assert_read_error(path, "too large", "too_large")
    assert "decompression bomb" in error.reason


def test_huge_jpeg_is_decoded_at_a_reduced_scale(tmp_path):
    # 20000x15000 = 300 Mpx: over PIL's own limit (179 Mpx), so Image.open alone refuses it.
    path = flat_grey_jpeg(tmp_path / "panorama.jpg", 20_000, 15_000)
    out = read_rgb(path, max_pixels=5_000_000)  # only 1/8 (2500x1875 = 4.7 Mpx) fits
    assert out.shape == (1875, 2500, 3) and out.dtype == np.uint8
    assert (out == 128).all()
    out = read_rgb(path)  # the 50 Mpx default: 1/4 (5000x3750 = 18.75 Mpx) is the first to fit
    assert out.shape == (3750, 5000, 3)
    # Beyond even 1/8 of the limit: refused from the header, naming the scale it tried.
    assert_read_error(path, "even decoded at 1/8", "too_large", max_pixels=1_000_000)


def test_small_jpeg_decodes_small_on_request_png_does_not(tmp_path):
    rng = np.random.default_rng(3)
    big = np.repeat(np.repeat(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), 20, 0), 20, 1)
    jpeg = save(big, tmp_path / "big.jpg", quality=95)
    assert read_rgb(jpeg).shape == (600, 800, 3)
    assert read_rgb(jpeg, draft_min_side=150).shape == (150, 200, 3)  # 1/4: short side 150
    assert read_rgb(jpeg, draft_min_side=100).shape == (150, 200, 3)  # 1/8 would be under 100
    assert read_rgb(jpeg, draft_min_side=10).shape == (75, 100, 3)  # 1/8 is as far as it goes
    assert read_rgb(save(big, tmp_path / "big.png"), draft_min_side=100).shape == (600, 800, 3)


PEAK_MEMORY = textwrap.dedent("""
    import resource, sys
    from facetransfer.data.images import ImageReadError, read_rgb
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        shape = read_rgb(sys.argv[1]).shape
    except ImageReadError as error:
        shape = error.kind
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(shape, round(grown_mb))
""")


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_20000x15000_never_takes_its_full_size_in_memory(tmp_path, kind):
    # Decoded in full it would need 300 MB as grey and 900 MB as RGB. A fresh interpreter
    # measures the peak resident memory the read adds (ru_maxrss, in KiB on Linux).
    if sys.platform != "linux":
        pytest.skip("ru_maxrss is in KiB only on Linux")
    if kind == "jpeg":
        path = flat_grey_jpeg(tmp_path / "huge.jpg", 20_000, 15_000)
    else:
        path = png_header_only(tmp_path / "huge.png", 20_000, 15_000)
    script = tmp_path / "peak.py"
    script.write_text(PEAK_MEMORY)
    done = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shape, grown_mb = done.stdout.rsplit(maxsplit=1)
    assert shape == ("(3750, 5000, 3)" if kind == "jpeg" else "too_large")
    # 1/4 scale is 56 MB as RGB, 19 MB as grey: about 130 MB at the peak was measured. The
    # full size would be 300 MB as grey alone. The PNG decodes nothing at all.
    assert int(grown_mb) < (250 if kind == "jpeg" else 20), done.stdout


def test_tiny_image_refused(tmp_path):
    assert_read_error(save(quadrants(10, 10), tmp_path / "tiny.png"), "too small", "too_small")


def test_permission_denied(tmp_path):
    path = save(quadrants(), tmp_path / "locked.png")
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod does not stop reading")
        assert_read_error(path, "permission denied", "permission")
    finally:
        os.chmod(path, 0o644)


def test_permission_denied_reason_when_open_fails(tmp_path, monkeypatch):
    # Works even as root: simulate the OS refusing the open.
    path = save(quadrants(), tmp_path / "locked.png")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", refuse)
    assert_read_error(path, "permission denied", "permission")


# --- folders and batches --------------------------------------------------------------------


def test_list_images_skips_litter_and_folders(tmp_path):
    good = [save(quadrants(), tmp_path / name) for name in ("b.jpg", "a.PNG", "c d.jpeg")]
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "notes.txt").write_text("hi")
    save(quadrants(), tmp_path / "._a.jpg")  # macOS resource fork / hidden
    (tmp_path / "folder.jpg").mkdir()  # a folder with an image suffix
    sub = tmp_path / "sub"
    sub.mkdir()
    nested = save(quadrants(), sub / "nested.jpg")
    hidden = tmp_path / ".thumbnails"
    hidden.mkdir()
    save(quadrants(), hidden / "thumb.jpg")

    assert list_images(tmp_path) == sorted(good)
    assert list_images(tmp_path, recursive=True) == sorted(good + [nested])
    assert ".heic" in IMAGE_SUFFIXES


def test_ignored_entries_say_why_and_unread_subfolders_warn(tmp_path, caplog):
    save(quadrants(), tmp_path / "a.jpg")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "2019").mkdir()
    save(quadrants(), tmp_path / "2019" / "b.jpg")
    (tmp_path / "empty folder").mkdir()
    why = {path.name: reason for path, reason in ignored_entries(tmp_path)}
    assert why == {
        ".DS_Store": "system file",
        "Thumbs.db": "system file",
        "notes.txt": "not an image file (.txt)",
        "2019": "sub-folder, not read",
        "empty folder": "sub-folder, not read",
    }
    with caplog.at_level(logging.INFO, logger="facetransfer.data.images"):
        assert list_images(tmp_path) == [tmp_path / "a.jpg"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2019: sub-folder with 1 images, not read" in warnings[0]
    assert "notes.txt (not an image file (.txt))" in caplog.text
    assert "2019" not in {p.name for p, _ in ignored_entries(tmp_path, recursive=True)}


def test_list_images_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list_images(tmp_path / "nowhere")


def test_resize_takes_width_height():
    out = resize(quadrants(48, 32), (24, 40))
    assert out.shape == (40, 24, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], (255, 0, 0))
    np.testing.assert_array_equal(out[-1, -1], (255, 255, 255))
    with pytest.raises(ValueError, match="uint8"):
        resize(quadrants().astype(np.float32), (10, 10))


def test_read_images_skips_bad_files_and_logs(tmp_path, caplog):
    good1 = save(quadrants(), tmp_path / "1.png")
    empty = tmp_path / "2.jpg"
    empty.touch()
    good2 = save(quadrants(64, 64), tmp_path / "3.jpg")
    text = tmp_path / "4.jpg"
    text.write_text("not pixels")
    with caplog.at_level(logging.WARNING, logger="facetransfer.data.images"):
        stack, read, skipped = read_images([good1, empty, good2, text], size=(20, 30))
    assert stack.shape == (2, 30, 20, 3) and stack.dtype == np.uint8
    assert read == [good1, good2]
    assert skipped[0] == (empty, "empty file (0 bytes)") and skipped[1][0] == text
    assert "2.jpg" in caplog.text and "4.jpg" in caplog.text
    summaries = [r.getMessage() for r in caplog.records if "read 2 of 4" in r.getMessage()]
    assert summaries == ["read 2 of 4 images; skipped 2: 1 empty file, 1 not an image"]


def test_skip_summary_counts_by_kind_and_notes():
    summary = SkipSummary("photos")
    summary.add_ok(5)
    for name, kind in (("a", "no_face"), ("b", "no_face"), ("c", "truncated")):
        summary.add_skip(name, kind, "why")
    summary.notes["with several faces (the largest used)"] = 2
    assert summary.counts() == {"no_face": 2, "truncated": 1}
    assert str(summary) == (
        "read 5 of 8 photos; skipped 3: 2 no face found, 1 truncated or corrupt; "
        "2 with several faces (the largest used)"
    )
    assert str(SkipSummary("photos", seen=3)) == "read 3 of 3 photos"


def test_read_images_all_bad_gives_empty_stack(tmp_path):
    empty = tmp_path / "x.jpg"
    empty.touch()
    stack, read, skipped = read_images([empty], size=(20, 30))
    assert stack.shape == (0, 30, 20, 3) and read == [] and len(skipped) == 1


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_a_jpeg_whose_sides_do_not_divide_is_decoded_at_the_scale_asked(tmp_path, scale):
    # 997 / 8 is not whole: asking PIL for ceil(997 / 8) = 125 rows gave 1/4, not 1/8
    path = tmp_path / "odd.jpg"
    Image.new("RGB", (1000, 997), (90, 120, 150)).save(path, quality=90)
    photo = read_scaled(path, scale=scale)
    assert photo.pixels.shape[:2] == (-(-997 // scale), 1000 // scale)
    assert read_scaled(path, long_side=1000 // scale).pixels.shape[1] == 1000 // scale
