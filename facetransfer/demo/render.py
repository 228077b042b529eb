"""One drawn photo: every part in order, then halved, posed, lit, noised and blurred."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

from facetransfer.data.labels import ATTRIBUTE_NAMES
from facetransfer.demo.canvas import (
    Pen,
    Photo,
    draw_background,
    face_geometry,
    hair_rgb_for,
    random_photo,
    skin_for,
)
from facetransfer.demo.features import (
    draw_age,
    draw_beard,
    draw_brows,
    draw_eyes,
    draw_glasses,
    draw_mouth,
    draw_nose,
    lower_face,
)
from facetransfer.demo.hair import (
    draw_bangs,
    draw_clothes_and_hair,
    draw_earrings,
    draw_ears,
    draw_hair_cap,
    draw_hat,
)
from facetransfer.demo.identities import FaceIdentity
from facetransfer.demo.palette import CROP_HEIGHT, CROP_WIDTH, MARGIN, SCALE, shaded


def render_face(
    identity: FaceIdentity, attributes: dict[str, bool], rng: np.random.Generator
) -> Image.Image:
    """One 178x218 RGB photo of ``identity`` showing ``attributes`` (CelebA names to bools).

    Missing names count as False. The picture follows the labels; keeping them consistent (no
    bald person with bangs) is :func:`sample_attributes`' job. ``rng`` supplies pose, light,
    background, clothes and colours, always the same number of values whatever the labels are.
    """
    unknown = set(attributes) - set(ATTRIBUTE_NAMES)
    if unknown:
        raise ValueError(f"unknown attribute names: {sorted(unknown)}; expected CelebA's 40")
    attrs = {name: bool(attributes.get(name, False)) for name in ATTRIBUTE_NAMES}
    photo = random_photo(rng)
    face = face_geometry(identity, attrs, photo)
    skin = skin_for(identity, attrs["Pale_Skin"])
    skin = shaded(skin, photo.skin_jitter)
    neck = shaded(skin, 0.84)
    hair = hair_rgb_for(identity, attrs)
    texture = "straight" if attrs["Straight_Hair"] else "wavy" if attrs["Wavy_Hair"] else "curly"
    has_hair = not attrs["Bald"]
    hat = attrs["Wearing_Hat"]

    canvas = draw_background(photo)
    pen = Pen(canvas)
    draw_clothes_and_hair(
        pen,
        face,
        identity,
        attrs,
        photo=photo,
        neck=neck,
        hair=hair,
        texture=texture,
        has_hair=has_hair,
    )
    if attrs["Double_Chin"]:
        # A second, fuller curve below the chin, with a crease under each.
        pen.ellipse(face.cx, face.chin + 3.5, face.half_width * 0.62, 10.0, fill=shaded(skin, 0.95))
        t = np.linspace(0.3, np.pi - 0.3, 12)
        for rx, ry in ((0.5, 5.0), (0.58, 12.0)):
            crease = np.stack(
                [face.cx + face.half_width * rx * np.cos(t), face.chin + ry * np.sin(t)], 1
            )
            pen.line(crease, fill=shaded(skin, 0.66, 150), width=1.0)
    draw_ears(pen, face, skin)
    pen.polygon(face.outline(), fill=skin)
    # Light from above: a soft shadow over the lower face (and a shine on a bald head).
    for y_from in (146.0, 157.0, 167.0):  # stacked thin layers: a gradient, not an edge
        pen.polygon(lower_face(face, grow=0.0, y_from=y_from), fill=shaded(skin, 0.8, 24))
    if attrs["Bald"] and not hat:
        pen.ellipse(face.cx + 6, 56.0, 14.0, 8.0, fill=(255, 255, 255, 50))
    if not attrs["Young"]:
        draw_age(pen, face, skin)
    if attrs["Rosy_Cheeks"]:
        for side in (-1.0, 1.0):
            pen.ellipse(
                face.cx + side * (face.eye_dx + 4) + face.turn,
                134.0,
                9.0,
                6.0,
                fill=(225, 70, 90, 105),
            )
    draw_beard(pen, face, attrs, identity, photo=photo)
    draw_eyes(pen, face, identity, attrs, photo=photo, skin=skin)
    draw_brows(pen, face, identity, attrs)
    draw_nose(pen, face, attrs, skin)
    draw_mouth(pen, face, attrs, identity, photo=photo, skin=skin)
    if has_hair and not hat:
        draw_hair_cap(pen, face, attrs, hair, photo=photo, texture=texture)
        if attrs["Bangs"]:
            draw_bangs(pen, face, hair, photo, texture=texture)
    if hat:
        draw_hat(pen, face, photo)
    if attrs["Eyeglasses"]:
        draw_glasses(pen, face, attrs, photo)
    if attrs["Wearing_Earrings"]:
        draw_earrings(pen, face, photo)
    return _finish(canvas, attrs, photo)


def _finish(canvas: Image.Image, attrs: dict[str, bool], photo: Photo) -> Image.Image:
    """Halve the size; turn, shift and zoom for the pose; light, noise and blur."""
    # Halving first (a box filter) and turning the small image costs a third of turning the
    # large one, and the bilinear resampling softens little more than a camera does.
    small = canvas.reduce(SCALE)
    angle = math.radians(photo.angle)
    cos, sin = math.cos(angle) / photo.zoom, math.sin(angle) / photo.zoom
    pivot_x, pivot_y = 88.5, 111.0  # between the eyes
    # Output pixel -> canvas pixel: undo zoom and turn about the pivot, then shift and add margin.
    origin_x = pivot_x + MARGIN - photo.shift[0]
    origin_y = pivot_y + MARGIN - photo.shift[1]
    matrix = (
        cos,
        -sin,
        origin_x - cos * pivot_x + sin * pivot_y,
        sin,
        cos,
        origin_y - sin * pivot_x - cos * pivot_y,
    )
    posed = small.transform(
        (CROP_WIDTH, CROP_HEIGHT), Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR
    )
    ramp = 1.0 + photo.light_slope * (np.arange(CROP_WIDTH, dtype=np.float32) - 88.5) / 88.5
    light = (photo.gain * ramp)[:, None] * photo.tint.astype(np.float32)[None, :]  # (W, 3)
    pixels = np.asarray(posed, dtype=np.float32) * light + _noise(photo.noise_seed)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if attrs["Blurry"]:
        image = image.filter(ImageFilter.GaussianBlur(photo.blur))
    return image


_NOISE_SHAPE = (CROP_HEIGHT, CROP_WIDTH, 3)
_NOISE_SIZE = CROP_HEIGHT * CROP_WIDTH * 3
# Sensor noise: one fixed table, read from a per-photo offset; far cheaper than fresh normals.
_NOISE_TABLE = np.random.default_rng(12345).normal(0.0, 2.5, 4 * _NOISE_SIZE).astype(np.float32)


def _noise(seed: int) -> np.ndarray:
    start = seed % (len(_NOISE_TABLE) - _NOISE_SIZE)
    return _NOISE_TABLE[start : start + _NOISE_SIZE].reshape(_NOISE_SHAPE)
