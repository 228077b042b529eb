"""Tests for facetransfer.images: every awkward file is generated here, in tmp_path."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facetransfer.images import (
    IMAGE_SUFFIXES,
    ImageReadError,
    list_images,
    read_images,
    read_rgb,
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


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but holds almost no data (no memory needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    data = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)
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


def test_non_ascii_and_spaces_in_names(tmp_path):
    path = save(quadrants(), tmp_path / "mi foto ñ 写真 é.png")
    assert read_rgb(path).shape == (32, 48, 3)
    assert list_images(tmp_path) == [path]


# --- bad input ------------------------------------------------------------------------------


def assert_read_error(path: Path, fragment: str, **kwargs) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_rgb(path, **kwargs)
    assert str(path) in str(info.value)
    assert fragment in info.value.reason
    return info.value


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    assert_read_error(path, "empty")


def test_missing_file(tmp_path):
    assert_read_error(tmp_path / "nope.jpg", "not found")


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    full = save(noisy, tmp_path / "full.jpg").read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(full[: len(full) // 2])
    assert_read_error(path, "truncated")


def test_text_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n")
    assert_read_error(path, "not an image")


def test_too_many_pixels_refused_small_limit(tmp_path):
    path = save(quadrants(100, 100), tmp_path / "big.png")
    assert_read_error(path, "too large", max_pixels=5_000)
    assert read_rgb(path, max_pixels=10_000).shape == (100, 100, 3)


@pytest.mark.parametrize("side", [8_000, 100_000])
def test_huge_png_header_refused_without_decoding(tmp_path, side):
    # 64 Mpx is over our 50 Mpx default; 10 Gpx also trips PIL's own DecompressionBombError.
    path = png_header_only(tmp_path / f"bomb{side}.png", side, side)
    error = assert_read_error(path, "")
    assert "too large" in error.reason or "decompression bomb" in error.reason


def test_tiny_image_refused(tmp_path):
    assert_read_error(save(quadrants(10, 10), tmp_path / "tiny.png"), "too small")


def test_permission_denied(tmp_path):
    path = save(quadrants(), tmp_path / "locked.png")
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: chmod does not stop reading")
        assert_read_error(path, "permission denied")
    finally:
        os.chmod(path, 0o644)


def test_permission_denied_reason_when_open_fails(tmp_path, monkeypatch):
    # Works even as root: simulate the OS refusing the open.
    path = save(quadrants(), tmp_path / "locked.png")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", refuse)
    assert_read_error(path, "permission denied")


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
    with caplog.at_level(logging.WARNING, logger="facetransfer.images"):
        stack, read, skipped = read_images([good1, empty, good2], size=(20, 30))
    assert stack.shape == (2, 30, 20, 3) and stack.dtype == np.uint8
    assert read == [good1, good2]
    assert skipped == [(empty, "empty file (0 bytes)")]
    assert "2.jpg" in caplog.text


def test_read_images_all_bad_gives_empty_stack(tmp_path):
    empty = tmp_path / "x.jpg"
    empty.touch()
    stack, read, skipped = read_images([empty], size=(20, 30))
    assert stack.shape == (0, 30, 20, 3) and read == [] and len(skipped) == 1
