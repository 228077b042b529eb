"""Drawing tools for one photo: its random choices (`Photo`), a pen at twice the size
(`Pen`), the face's geometry in CelebA's aligned crop (`Face`), and the background."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from facetransfer.demo.identities import FaceIdentity
from facetransfer.demo.palette import (
    CLOTHES,
    CROP_HEIGHT,
    CROP_WIDTH,
    EYESHADOWS,
    FRAMES,
    HAIR_COLOUR_ATTRIBUTES,
    HAIR_RGB,
    HATS,
    LIPSTICKS,
    MARGIN,
    METALS,
    PALE_SKIN,
    SCALE,
    SKIN_TONES,
    TIES,
    to_rgb,
)


@dataclass
class Photo:
    """Everything random about one photo, drawn up front in a fixed order.

    Taking the same values from the generator whatever the labels are means two renderings that
    differ in one label differ only where that label is drawn (the tests rely on it).
    """

    angle: float
    shift: tuple[float, float]
    zoom: float
    turn: float
    gain: float
    light_slope: float
    tint: np.ndarray
    background: np.ndarray  # (3, 4, 3) colour grid, smoothly stretched over the canvas
    clutter: np.ndarray  # (2, 8): rectangles in the background
    clothes: tuple[int, int, int]
    tie: tuple[int, int, int]
    hat: tuple[int, int, int]
    hat_style: int
    hat_y: float
    frame: tuple[int, int, int]
    round_glasses: bool
    sunglasses: bool
    earring_hoop: bool
    metal: tuple[int, int, int]
    necklace_metal: tuple[int, int, int]
    lipstick: tuple[int, int, int]
    eyeshadow: tuple[int, int, int]
    blur: float
    noise_seed: int
    strands: np.ndarray  # (24,) in [0, 1)
    stubble: np.ndarray  # (2, 420) in [0, 1)
    fringe: np.ndarray  # (14,) in [0, 1)
    gaze: tuple[float, float]
    mouth_gap: float
    skin_jitter: float


def random_photo(rng: np.random.Generator) -> Photo:
    u = rng.random(20)
    # Muted, like rooms and walls: a grey level plus a moderate colour cast, varying smoothly.
    cast = rng.uniform(-1.0, 1.0, 3) * rng.uniform(8.0, 50.0)
    background = rng.uniform(45, 215) + cast[None, None, :] + rng.normal(0, 16, (3, 4, 3))
    return Photo(
        angle=float(np.clip(rng.normal(0, 3.5), -8, 8)),
        shift=(float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3))),
        zoom=float(rng.uniform(0.96, 1.04)),
        turn=float(rng.uniform(-3.5, 3.5)),
        gain=float(rng.uniform(0.84, 1.1)),
        light_slope=float(rng.uniform(-0.16, 0.16)),
        tint=rng.uniform(0.95, 1.05, 3),
        background=np.clip(background, 0, 255),
        clutter=rng.random((2, 8)),
        clothes=CLOTHES[int(u[0] * len(CLOTHES))],
        tie=TIES[int(u[1] * len(TIES))],
        hat=HATS[int(u[2] * len(HATS))],
        hat_style=int(u[3] * 3),
        hat_y=float(72 + u[4] * 6),
        frame=FRAMES[int(u[5] * len(FRAMES))],
        round_glasses=bool(u[6] < 0.4),
        sunglasses=bool(u[7] < 0.25),
        earring_hoop=bool(u[8] < 0.5),
        metal=METALS[int(u[9] * len(METALS))],
        necklace_metal=METALS[int(u[10] * len(METALS))],
        lipstick=LIPSTICKS[int(u[11] * len(LIPSTICKS))],
        eyeshadow=EYESHADOWS[int(u[12] * len(EYESHADOWS))],
        blur=float(1.8 + u[13] * 1.0),
        noise_seed=int(rng.integers(2**31)),
        strands=rng.random(24),
        stubble=rng.random((2, 420)),
        fringe=rng.random(14),
        gaze=(float(u[14] * 1.6 - 0.8), float(u[15] * 1.0 - 0.5)),
        mouth_gap=float(4.5 + u[16] * 2.5),
        skin_jitter=float(0.97 + u[17] * 0.06),
    )


class Pen:
    """ImageDraw in crop coordinates (178x218 units) on the supersampled, margined canvas."""

    def __init__(self, image: Image.Image) -> None:
        self.draw = ImageDraw.Draw(image, "RGBA")  # RGBA fills blend into the RGB canvas

    @staticmethod
    def flat(points) -> list[float]:
        return ((np.asarray(points, dtype=np.float64) + MARGIN) * SCALE).ravel().tolist()

    @staticmethod
    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [
            (x0 + MARGIN) * SCALE,
            (y0 + MARGIN) * SCALE,
            (x1 + MARGIN) * SCALE,
            (y1 + MARGIN) * SCALE,
        ]

    def ellipse(self, cx, cy, rx, ry, *, fill=None, outline=None, width: float = 0.0) -> None:
        self.draw.ellipse(
            self.box(cx - rx, cy - ry, cx + rx, cy + ry),
            fill=fill,
            outline=outline,
            width=max(1, round(width * SCALE)) if outline else 0,
        )

    def polygon(self, points, fill, outline=None) -> None:
        self.draw.polygon(self.flat(points), fill=fill, outline=outline)

    def line(self, points, fill, width: float) -> None:
        self.draw.line(
            self.flat(points), fill=fill, width=max(1, round(width * SCALE)), joint="curve"
        )

    def rounded(
        self, x0, y0, x1, y1, *, radius, fill=None, outline=None, width: float = 0.0
    ) -> None:
        self.draw.rounded_rectangle(
            self.box(x0, y0, x1, y1),
            radius=radius * SCALE,
            fill=fill,
            outline=outline,
            width=max(1, round(width * SCALE)) if outline else 0,
        )


@dataclass
class Face:
    """Where this face's parts are, in crop coordinates (before the pose turns the picture)."""

    cx: float
    cy: float  # the widest line of the face
    half_width: float
    top: float  # crown of the skull
    chin: float
    jaw: float
    eye_y: float
    eye_dx: float  # half the distance between the eye centres
    turn: float  # features slide sideways this much when the head turns

    def outline(self, grow: float = 0.0, n: int = 72) -> np.ndarray:
        """The head's outline: an ellipse above the widest line, a superellipse (jaw) below."""
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        c, s = np.cos(t), np.sin(t)
        lower = s > 0
        p = np.where(lower, self.jaw, 2.0)
        x = self.cx + (self.half_width + grow) * np.sign(c) * np.abs(c) ** (2.0 / p)
        height = np.where(lower, self.chin - self.cy, self.cy - self.top) + grow
        y = self.cy + height * np.sign(s) * np.abs(s) ** (2.0 / p)
        return np.stack([x, y], axis=1)

    def width_at(self, y: float) -> float:
        """Half width of the head at height ``y`` (above the widest line)."""
        frac = min(1.0, max(0.0, (self.cy - y) / (self.cy - self.top)))
        return self.half_width * math.sqrt(1.0 - frac * frac)


def face_geometry(identity: FaceIdentity, attrs: dict[str, bool], photo: Photo) -> Face:
    width = 43.0 * identity.face_width
    chin = 111.0 + 68.0 * identity.face_length
    jaw = identity.jaw
    if attrs["Male"] != identity.male:  # the label decides: a square jaw for men
        jaw = 2.8 if attrs["Male"] else 2.2
    if attrs["Chubby"]:
        width *= 1.13
        jaw = 2.0
    if attrs["Oval_Face"]:
        width *= 0.94
        chin += 5.0
        jaw = 2.0
    return Face(
        cx=88.5,
        cy=117.0,
        half_width=width,
        top=40.0,
        chin=chin,
        jaw=jaw,
        eye_y=111.0,
        eye_dx=19.5 + identity.eye_spacing,
        turn=photo.turn,
    )


def hair_rgb_for(identity: FaceIdentity, attrs: dict[str, bool]) -> tuple[int, int, int]:
    """The hair colour the labels ask for; the person's own shade when it is their colour."""
    for colour, name in HAIR_COLOUR_ATTRIBUTES.items():
        if attrs[name]:
            return identity.hair_rgb if identity.hair_colour == colour else HAIR_RGB[colour]
    return identity.hair_rgb if identity.hair_colour == "red" else HAIR_RGB["red"]


def skin_for(identity: FaceIdentity, pale: bool) -> tuple[int, int, int]:
    """The person's skin, or the nearest one that agrees with the Pale_Skin label."""
    if pale == identity.pale:
        return identity.skin
    return PALE_SKIN if pale else to_rgb(SKIN_TONES[0])


def draw_background(photo: Photo) -> Image.Image:
    """The supersampled canvas: a smooth, muted wall with a few soft shapes on it."""
    size = ((CROP_WIDTH + 2 * MARGIN) * SCALE, (CROP_HEIGHT + 2 * MARGIN) * SCALE)
    grid = Image.fromarray(photo.background.astype(np.uint8), "RGB")
    # Smooth at half size, then doubled: the canvas is halved again before anyone sees it.
    half = (size[0] // SCALE, size[1] // SCALE)
    canvas = grid.resize(half, Image.Resampling.BILINEAR).resize(size, Image.Resampling.NEAREST)
    pen = Pen(canvas)
    for row in photo.clutter:  # soft shapes: a door frame, a window, a poster
        if row[0] < 0.5:
            continue
        x0, y0 = -MARGIN + row[1] * 200, -MARGIN + row[2] * 200
        colour = (*to_rgb(row[4:7] * 255), 90)
        pen.rounded(x0, y0, x0 + 20 + row[3] * 90, y0 + 30 + row[7] * 120, radius=4, fill=colour)
    return canvas
