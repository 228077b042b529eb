"""Hair, hats, ears, earrings, neck and clothes of a drawn face."""

from __future__ import annotations

import math

import numpy as np

from facetransfer.demo.canvas import Face, Pen, Photo
from facetransfer.demo.identities import FaceIdentity
from facetransfer.demo.palette import shaded


def _draw_neckline(pen: Pen, face: Face, attrs: dict[str, bool], photo: Photo, neck_rgb) -> None:
    """What shows at the neck: a round neckline, or shirt, collar and tie; a necklace."""
    cx = face.cx
    if attrs["Wearing_Necktie"]:
        # Jacket open over a light shirt, collar points, knot and blade.
        pen.polygon(
            [(cx - 17, 197), (cx + 17, 197), (cx + 2, 260), (cx - 2, 260)], fill=(236, 236, 240)
        )
        tie = photo.tie
        pen.polygon(
            [(cx - 4.5, 199), (cx + 4.5, 199), (cx + 3, 207), (cx - 3, 207)], fill=shaded(tie, 0.8)
        )
        pen.polygon(
            [(cx - 3, 207), (cx + 3, 207), (cx + 8, 240), (cx, 250), (cx - 8, 240)], fill=tie
        )
        pen.polygon([(cx - 17, 195), (cx - 1, 200), (cx - 9, 212)], fill=(250, 250, 252))
        pen.polygon([(cx + 17, 195), (cx + 1, 200), (cx + 9, 212)], fill=(250, 250, 252))
    else:
        pen.ellipse(cx, 194.0, 17.0, 11.0, fill=neck_rgb)  # round neckline
    if attrs["Wearing_Necklace"]:
        t = np.linspace(0.15, np.pi - 0.15, 15)
        beads = np.stack([cx + 18.0 * np.cos(t), 188.0 + 14.0 * np.sin(t)], axis=1)
        metal = photo.necklace_metal
        pen.line(beads, fill=shaded(metal, 0.7), width=1.0)
        for x, y in beads:
            pen.ellipse(x, y, 1.5, 1.5, fill=metal, outline=shaded(metal, 0.55), width=0.4)
        pen.ellipse(cx, 204.5, 3.2, 3.8, fill=metal, outline=shaded(metal, 0.5), width=0.6)


def _wavy(values: np.ndarray, phase: float, amplitude: float, period: float) -> np.ndarray:
    return amplitude * np.sin(values / period * 2.0 * np.pi + phase * 2.0 * np.pi)


def _draw_back_hair(pen: Pen, face: Face, identity: FaceIdentity, hair, photo: Photo, texture: str):
    """Medium and long hair behind the head and over the shoulders."""
    bottom = 238.0 if identity.hair_length == "long" else 172.0
    spread = 17.0 if identity.hair_length == "long" else 12.0
    volume = 9.0 if texture == "curly" else 6.0
    top = face.outline(grow=volume)
    top = top[top[:, 1] <= face.cy + 4]
    top = top[np.argsort(np.arctan2(top[:, 1] - face.cy, top[:, 0] - face.cx))]  # left to right
    ys = np.linspace(face.cy + 4, bottom, 12)
    amplitude = {"straight": 0.4, "wavy": 3.5, "curly": 3.0}[texture]
    period = {"straight": 40.0, "wavy": 26.0, "curly": 11.0}[texture]
    flare = (ys - ys[0]) / (bottom - ys[0])
    right_x = face.cx + face.half_width + volume + (spread - volume) * flare
    right_x += _wavy(ys, photo.strands[0], amplitude, period)
    left_x = face.cx - face.half_width - volume - (spread - volume) * flare
    left_x -= _wavy(ys, photo.strands[1], amplitude, period)
    right = np.stack([right_x, ys], axis=1)
    left = np.stack([left_x, ys], axis=1)[::-1]
    pen.polygon(np.concatenate([top, right, left]), fill=hair)
    dark = shaded(hair, 0.72, 150) if sum(hair) > 150 else shaded((60, 56, 56), 1.0, 120)
    inner = face.half_width + 1.0
    for i in range(10):  # strands down the sides, kept between the face and the hair's edge
        where = 0.2 + 0.65 * photo.strands[i + 2]
        if i % 2:
            xs = face.cx - inner - where * (face.cx - inner - left_x)
        else:
            xs = face.cx + inner + where * (right_x - face.cx - inner)
        pen.line(np.stack([xs, ys], axis=1)[:-1], fill=dark, width=1.0)


def _hairline(face: Face, receding: bool, xs: np.ndarray) -> np.ndarray:
    """Height of the hairline across the forehead; a receding one rises at the temples."""
    d = np.clip(np.abs(xs - face.cx) / face.width_at(100.0), 0.0, 1.0)
    if receding:
        return 55.0 + 12.0 * np.exp(-((d / 0.14) ** 2)) + 45.0 * d**4
    return 69.0 + 31.0 * d**3


def draw_hair_cap(pen: Pen, face: Face, attrs, hair, *, photo: Photo, texture: str) -> None:
    """The hair on top of the head, down to the hairline, drawn over the forehead's skin."""
    volume = {"straight": 4.0, "wavy": 5.5, "curly": 6.5}[texture]
    side_y = 104.0
    h = face.cy - face.top + volume
    t0 = math.asin(min(1.0, (face.cy - side_y) / h))
    t = np.linspace(t0, math.pi - t0, 40)  # right temple, over the crown, to the left temple
    bump = np.zeros_like(t)
    if texture == "wavy":
        bump = 2.2 * np.sin(t * 11 + photo.strands[3] * 6)
    elif texture == "curly":
        bump = 2.8 * np.abs(np.sin(t * 15 + photo.strands[3] * 6))
    outer = np.stack(
        [face.cx + (face.half_width + volume + bump) * np.cos(t), face.cy - (h + bump) * np.sin(t)],
        axis=1,
    )
    edge = face.width_at(100.0)
    xs = np.linspace(face.cx - edge - 0.5, face.cx + edge + 0.5, 25)
    line = np.stack([xs, _hairline(face, attrs["Receding_Hairline"], xs)], axis=1)
    pen.polygon(np.concatenate([outer, line]), fill=hair)
    dark = shaded(hair, 0.7, 160) if sum(hair) > 150 else shaded((70, 64, 62), 1.0, 130)
    light = shaded(hair, 1.25, 110)
    if texture == "curly":
        for i in range(12):
            x = face.cx + (photo.strands[i] - 0.5) * 1.6 * face.half_width
            y_top = face.cy - h * math.sqrt(
                max(0.0, 1 - ((x - face.cx) / (face.half_width + volume)) ** 2)
            )
            y_low = float(_hairline(face, attrs["Receding_Hairline"], np.array([x]))[0])
            y = y_top + 3 + photo.strands[23 - i] * max(1.0, y_low - y_top - 6)
            pen.ellipse(x, y, 2.6, 2.2, outline=dark, width=0.8)
        return
    for i in range(9):  # strands from the crown to the hairline
        x_end = face.cx + (i - 4) / 4.0 * (edge - 4)
        y_end = float(_hairline(face, attrs["Receding_Hairline"], np.array([x_end]))[0]) - 1.5
        x_start = face.cx + (x_end - face.cx) * 0.35
        yy = np.linspace(face.top - volume + 3, y_end, 8)
        xx = np.linspace(x_start, x_end, 8)
        if texture == "wavy":
            xx = xx + _wavy(yy, photo.strands[i], 1.8, 12.0)
        pen.line(np.stack([xx, yy], axis=1), fill=dark if i % 2 else light, width=0.9)


def draw_bangs(pen: Pen, face: Face, hair, photo: Photo, *, texture: str) -> None:
    """A fringe over the forehead, ending just above the eyebrows."""
    edge = face.width_at(96.0) - 3
    xs = np.linspace(face.cx - edge, face.cx + edge, 14)
    swept = (photo.fringe[0] - 0.5) * 8.0  # side-swept fringes slope
    bottom = 93.0 + swept * (xs - face.cx) / edge + (photo.fringe - 0.5) * 4.0
    if texture == "wavy":
        bottom += _wavy(xs, photo.fringe[1], 1.5, 14.0)
    bottom[1::2] -= 2.5  # strand tips
    top = np.stack([xs[::-1], np.full(14, 62.0)], axis=1)
    pen.polygon(np.concatenate([np.stack([xs, bottom], axis=1), top]), fill=hair)
    dark = shaded(hair, 0.7, 150) if sum(hair) > 150 else shaded((70, 64, 62), 1.0, 130)
    for x, y in zip(xs[1:-1:2], bottom[1:-1:2], strict=True):
        pen.line([(x - 1, 66), (x, y - 1)], fill=dark, width=0.9)


def draw_hat(pen: Pen, face: Face, photo: Photo) -> None:
    colour = photo.hat
    y = photo.hat_y
    w = face.half_width
    t = np.linspace(0, np.pi, 30)
    if photo.hat_style == 0:  # beanie with a folded band
        dome = np.stack([face.cx + (w + 7) * np.cos(t), y - (y - 18) * np.sin(t)], axis=1)
        pen.polygon(dome, fill=colour)
        pen.rounded(
            face.cx - w - 8, y - 12, face.cx + w + 8, y + 3, radius=5, fill=shaded(colour, 0.82)
        )
    elif photo.hat_style == 1:  # cap with a brim towards the camera
        dome = np.stack([face.cx + (w + 6) * np.cos(t), y - (y - 20) * np.sin(t)], axis=1)
        pen.polygon(dome, fill=colour)
        pen.ellipse(face.cx, y + 2, w * 0.95, 7.0, fill=shaded(colour, 0.7))
    else:  # fedora: crown, band, wide brim
        pen.polygon(
            [
                (face.cx - w + 5, 24),
                (face.cx + w - 5, 24),
                (face.cx + w + 2, y),
                (face.cx - w - 2, y),
            ],
            fill=colour,
        )
        pen.ellipse(face.cx, y, w + 24, 7.0, fill=shaded(colour, 0.85))
        pen.rounded(
            face.cx - w - 1, y - 12, face.cx + w + 1, y - 5, radius=1, fill=shaded(colour, 0.45)
        )


def draw_ears(pen: Pen, face: Face, skin) -> None:
    for side in (-1.0, 1.0):
        x = face.cx + side * (face.half_width - 0.5) - face.turn * 0.3
        pen.ellipse(x, 121.0, 6.5, 14.0, fill=shaded(skin, 0.94))
        pen.ellipse(x + side * 1.5, 121.0, 3.0, 8.5, fill=shaded(skin, 0.78, 120))


def draw_earrings(pen: Pen, face: Face, photo: Photo) -> None:
    metal = photo.metal
    for side in (-1.0, 1.0):
        x = face.cx + side * (face.half_width + 0.5) - face.turn * 0.3
        if photo.earring_hoop:
            pen.ellipse(x, 140.0, 4.5, 5.5, outline=metal, width=1.8)
        else:
            pen.line([(x, 134.0), (x, 140.0)], fill=shaded(metal, 0.6), width=0.8)
            pen.ellipse(x, 142.0, 3.0, 3.4, fill=metal, outline=shaded(metal, 0.5), width=0.6)


def draw_clothes_and_hair(
    pen, face, identity, attrs, *, photo, neck, hair, texture, has_hair
) -> None:
    """Shoulders, long hair over them, then the neck in front of the hair."""
    pen.ellipse(face.cx, 236.0, 135.0, 40.0, fill=photo.clothes)
    if has_hair and identity.hair_length != "short":
        _draw_back_hair(pen, face, identity, hair, photo, texture)
    pen.rounded(face.cx - 21, 140.0, face.cx + 21, 205.0, radius=6, fill=neck)
    _draw_neckline(pen, face, attrs, photo, neck)
