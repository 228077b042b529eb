"""The inner face: eyes, brows, nose, mouth, beard, wrinkles and glasses."""

from __future__ import annotations

import math

import numpy as np

from facetransfer.demo.canvas import Face, Pen, Photo
from facetransfer.demo.identities import FaceIdentity
from facetransfer.demo.palette import BROW_RGB, shaded


def lower_face(face: Face, grow: float, y_from: float) -> np.ndarray:
    """The outline below ``y_from``, left to right round the chin."""
    outline = face.outline(grow=grow, n=96)
    lower = outline[outline[:, 1] >= y_from]
    return lower[np.argsort(-np.arctan2(lower[:, 1] - face.cy, lower[:, 0] - face.cx))]


def _mouth_shape(face: Face, attrs: dict[str, bool], photo: Photo):
    """Sample points of the lips: x, the lip line, the gap, upper and lower lip thickness."""
    mx = face.cx + face.turn * 0.9
    my = 152.0
    smile = attrs["Smiling"]
    half = 17.5 * (1.08 if smile else 1.0)
    d = np.linspace(-1.0, 1.0, 17)
    x = mx + d * half
    base = my + (2.5 - 6.5 * d**2 if smile else 0.5 - 1.0 * d**2)
    gap = photo.mouth_gap * (1 - d**2) ** 0.8 if attrs["Mouth_Slightly_Open"] else np.zeros_like(d)
    upper = (5.0 if attrs["Big_Lips"] else 3.2) * (1 - d**2) ** 0.6
    upper = (
        upper + 0.8 * np.exp(-(((np.abs(d) - 0.3) / 0.15) ** 2)) - 0.5 * np.exp(-((d / 0.1) ** 2))
    )
    lower = (6.8 if attrs["Big_Lips"] else 4.2) * (1 - d**2) ** 0.6
    return x, base, gap, upper, lower


def draw_beard(pen: Pen, face: Face, attrs, identity: FaceIdentity, *, photo: Photo) -> None:
    # Beards keep the person's colour, a little darker than the hair; dyed hair leaves it auburn.
    if identity.hair_colour == "red":
        colour = BROW_RGB["red"]
    else:
        colour = shaded(identity.hair_rgb, 0.8)
    x, base, gap, upper, lower = _mouth_shape(face, attrs, photo)
    lip_bottom = float((base + gap + lower).max())
    mx = float(x[8])
    half = float(x[-1] - mx)
    full = not attrs["No_Beard"] and not attrs["Goatee"] and not attrs["Mustache"]
    full = full or identity.beard.startswith("full") and not attrs["No_Beard"]
    if attrs["5_o_Clock_Shadow"] or full:
        region = _beard_region(face, mx, half, lip_bottom, float(base[0]))
    if attrs["5_o_Clock_Shadow"]:
        pen.polygon(region, fill=(70, 72, 85, 80))
        pen.polygon(
            [
                (mx - half - 2, base[0] - 5),
                (mx, base[8] - upper[8] - 6),
                (mx + half + 2, base[0] - 5),
                (mx + half, base[0] - 1),
                (mx, base[8] - upper[8] - 1),
                (mx - half, base[0] - 1),
            ],
            fill=(70, 72, 85, 70),
        )
        dots = _stubble_dots(face, photo, mx, half, float(base[8]), lip_bottom)
        pen.draw.point(Pen.flat(dots), fill=(35, 35, 42, 170))  # single fine hairs
    if full:
        pen.polygon(region, fill=colour)
    if attrs["Sideburns"]:
        for side in (-1.0, 1.0):
            xo = face.cx + side * (face.width_at(99.0) + 0.5)
            xb = face.cx + side * (face.half_width - 0.5)
            pen.polygon(
                [(xo, 97), (xo - side * 7, 97), (xb - side * 4.0, 133), (xb + side * 0.5, 135)],
                fill=colour,
            )
    if attrs["Goatee"]:  # a tuft under the lip widening into a beard over the chin
        top = lip_bottom + 1.0
        chin = lower_face(face, grow=1.5, y_from=face.cy)
        chin = chin[np.abs(chin[:, 0] - mx) < 12.0][::-1]  # right to left round the chin
        shoulder = max(top + 3.0, face.chin - 11.0)
        tuft = [(mx - 3.5, top), (mx + 3.5, top), (mx + 12.0, shoulder)]
        pen.polygon(np.concatenate([np.array(tuft), chin, [(mx - 12.0, shoulder)]]), fill=colour)
    if attrs["Mustache"]:
        d = np.linspace(-1.15, 1.15, 13)
        xs = mx + d * half
        lip_top = np.interp(xs, x, base - upper, left=base[0], right=base[-1])
        low = lip_top - 0.5 + 2.5 * np.clip(np.abs(d) - 0.8, 0, None) * 8
        high = lip_top - 6.0 + 1.5 * d**2
        pen.polygon(
            np.concatenate([np.stack([xs, low], 1), np.stack([xs[::-1], high[::-1]], 1)]),
            fill=colour,
        )


def _beard_region(
    face: Face, mx: float, half: float, lip_bottom: float, corner_y: float
) -> np.ndarray:
    outer = lower_face(face, grow=1.5, y_from=124.0)
    w = face.half_width
    inner = [
        (face.cx + w * 0.8, 124.0),
        (mx + half + 7, corner_y - 6),
        (mx + half + 3, corner_y + 5),
        (mx + 8, lip_bottom + 2),
        (mx - 8, lip_bottom + 2),
        (mx - half - 3, corner_y + 5),
        (mx - half - 7, corner_y - 6),
        (face.cx - w * 0.8, 124.0),
    ]
    return np.concatenate([outer, np.array(inner)])


def _stubble_dots(face: Face, photo: Photo, mx: float, half: float, my: float, lip_bottom: float):
    u, v = photo.stubble
    xs = face.cx + (u - 0.5) * 2.0 * face.half_width * 0.9
    ys = 126.0 + v * (face.chin - 126.0)
    # Inside the lower face (the superellipse) and outside the lips.
    dx = np.abs(xs - face.cx) / face.half_width
    dy = np.clip((ys - face.cy) / (face.chin - face.cy), 0, None)
    inside = dx**face.jaw + dy**face.jaw < 0.97
    on_lips = (np.abs(xs - mx) < half + 1) & (ys > my - 7) & (ys < lip_bottom + 1)
    keep = inside & ~on_lips
    return np.stack([xs[keep], ys[keep]], axis=1)


def draw_eyes(pen: Pen, face: Face, identity: FaceIdentity, attrs, *, photo: Photo, skin) -> None:
    narrow = attrs["Narrow_Eyes"]
    ry = 2.0 if narrow else 4.3
    for side in (-1.0, 1.0):
        ex = face.cx + side * face.eye_dx + face.turn
        ey = face.eye_y
        if attrs["Heavy_Makeup"]:
            pen.ellipse(ex + side * 1.0, ey - 4.5, 10.5, 5.5, fill=(*photo.eyeshadow, 150))
        if attrs["Bags_Under_Eyes"]:
            pen.ellipse(ex, ey + 6.0, 8.5, 3.5, fill=shaded(skin, 0.6, 150))
            pen.line(
                [(ex - 7.5, ey + 8.0), (ex, ey + 10.0), (ex + 7.5, ey + 8.0)],
                fill=shaded(skin, 0.45, 190),
                width=1.1,
            )
        pen.ellipse(
            ex, ey - ry - 2.5, 8.5, 2.0, outline=shaded(skin, 0.7, 120), width=0.7
        )  # lid crease
        pen.ellipse(ex, ey, 8.0, ry, fill=(238, 236, 230))
        gx, gy = ex + photo.gaze[0], ey + photo.gaze[1] * (ry / 4.3)
        iris_r = 3.6
        pen.ellipse(gx, gy, iris_r, min(iris_r, ry), fill=identity.eye_rgb)
        pen.ellipse(gx, gy, 1.6, min(1.6, ry * 0.7), fill=(14, 10, 10))
        pen.ellipse(gx + 1.0, gy - min(1.2, ry * 0.4), 0.7, 0.6, fill=(250, 250, 250, 220))
        t = np.linspace(np.pi, 2 * np.pi, 12)
        lid = np.stack([ex + 8.2 * np.cos(t), ey + (ry + 0.3) * np.sin(t)], axis=1)
        liner = 2.2 if attrs["Heavy_Makeup"] else 1.3
        pen.line(lid, fill=(38, 24, 20), width=liner)
        if attrs["Heavy_Makeup"]:
            pen.line(
                [(ex + side * 7.8, ey - ry * 0.5), (ex + side * 11.0, ey - ry - 1.5)],
                fill=(30, 20, 20),
                width=1.3,
            )
        if not attrs["Male"]:  # lashes at the outer corner
            for k in range(3):
                a = np.pi * (1.55 + side * (0.12 + 0.1 * k))
                x0, y0 = ex + 8.0 * math.cos(a), ey + (ry + 0.3) * math.sin(a)
                pen.line([(x0, y0), (x0 + side * 1.6, y0 - 1.8)], fill=(30, 20, 20), width=0.6)
        low = np.stack([ex + 7.5 * np.cos(t), ey - (ry - 0.2) * np.sin(t)], axis=1)
        pen.line(low, fill=shaded(skin, 0.72, 120), width=0.6)
        if not attrs["Young"]:  # crow's feet
            for k in (-1, 0, 1):
                pen.line(
                    [(ex + side * 10, ey + k * 1.8), (ex + side * 14, ey + k * 3.2)],
                    fill=shaded(skin, 0.6, 110),
                    width=0.6,
                )


def draw_brows(pen: Pen, face: Face, identity: FaceIdentity, attrs) -> None:
    colour = BROW_RGB[identity.hair_colour]
    width = 4.6 if attrs["Bushy_Eyebrows"] else (2.6 if attrs["Male"] else 1.9)
    for side in (-1.0, 1.0):
        ex = face.cx + side * face.eye_dx + face.turn
        s = np.linspace(0.0, 1.0, 9)  # inner end to outer end
        xs = ex + side * (-11.0 + 23.0 * s)
        if attrs["Arched_Eyebrows"]:
            ys = (
                101.0
                - 6.5 * np.sin(np.clip(s / 0.65, 0, 1) * np.pi / 2)
                + 6.5 * np.clip((s - 0.65) / 0.35, 0, 1) ** 1.5
            )
        else:
            ys = 100.5 - 1.8 * np.sin(s * np.pi) + 0.4 * s
        pen.line(np.stack([xs, ys], axis=1), fill=colour, width=width)


def draw_nose(pen: Pen, face: Face, attrs, skin) -> None:
    """Bridge shading, tip and nostril wings; a big nose is wider, longer and deeper shaded."""
    big = attrs["Big_Nose"]
    tip_x = face.cx + face.turn * 1.4
    tip_y = 137.5 if big else 136.0
    wing = 9.5 if big else 5.2
    depth = 5.5 if big else 3.2
    shadow = shaded(skin, 0.6, 150)
    root_x = face.cx + face.turn * 0.6
    for side in (-1.0, 1.0) if big else (-1.0,):  # shading down the sides of the bridge
        pen.line(
            [(root_x + side * 3.5, 114.0), (tip_x + side * (wing - 3.0), tip_y - 6.0)],
            fill=shaded(skin, 0.78, 100),
            width=1.6 if big else 1.0,
        )
    if big:  # the wide base of the nose in shadow
        pen.ellipse(tip_x, tip_y + 1.0, wing + 1.0, depth, fill=shaded(skin, 0.82, 110))
    if attrs["Pointy_Nose"]:
        # A narrow ridge ending in a sharp, lowered tip: highlight down the ridge, a shadowed
        # wedge beside it and a V outline under the point.
        pen.line(
            [(tip_x - 0.5, 117.0), (tip_x - 0.5, tip_y - 1.0)],
            fill=shaded(skin, 1.2, 150),
            width=1.4,
        )
        pen.polygon(
            [(tip_x + 1.0, tip_y - 13.0), (tip_x + 4.5, tip_y - 1.0), (tip_x, tip_y + 5.5)],
            fill=shaded(skin, 0.62, 170),
        )
        pen.line(
            [(tip_x - 4.0, tip_y - 1.5), (tip_x, tip_y + 5.5), (tip_x + 4.0, tip_y - 1.5)],
            fill=shaded(skin, 0.5, 200),
            width=1.2,
        )
    else:
        pen.ellipse(tip_x, tip_y, wing * 0.55, depth, fill=shaded(skin, 1.06, 150))
    t = np.linspace(0.2, np.pi - 0.2, 12)
    wings = np.stack([tip_x + wing * np.cos(t), tip_y + depth * np.sin(t)], axis=1)
    pen.line(wings, fill=shadow, width=1.5 if big else 1.0)
    for side in (-1.0, 1.0):
        nostril_x = tip_x + side * wing * 0.45
        pen.ellipse(
            nostril_x, tip_y + depth - 0.6, 2.4 if big else 1.5, 1.3, fill=(60, 35, 30, 190)
        )


def draw_mouth(pen: Pen, face: Face, attrs, identity: FaceIdentity, *, photo: Photo, skin) -> None:
    x, base, gap, upper, lower = _mouth_shape(face, attrs, photo)
    colour = photo.lipstick if attrs["Wearing_Lipstick"] else identity.lip_rgb
    top = np.stack([x, base - upper], 1)
    pen.polygon(np.concatenate([top, np.stack([x[::-1], base[::-1]], 1)]), fill=colour)
    bottom = np.stack([x, base + gap + lower], 1)
    pen.polygon(
        np.concatenate([np.stack([x, base + gap], 1), bottom[::-1]]), fill=shaded(colour, 1.06)
    )
    if attrs["Mouth_Slightly_Open"]:
        pen.polygon(
            np.concatenate([np.stack([x, base], 1), np.stack([x[::-1], (base + gap)[::-1]], 1)]),
            fill=(62, 22, 26),
        )
        if attrs["Smiling"]:
            inner = slice(3, 14)
            teeth = np.concatenate(
                [
                    np.stack([x[inner], base[inner]], 1),
                    np.stack([x[inner][::-1], (base + gap * 0.45)[inner][::-1]], 1),
                ]
            )
            pen.polygon(teeth, fill=(242, 240, 232))
    else:
        pen.line(np.stack([x, base], 1), fill=shaded(colour, 0.5), width=1.1)
    if attrs["Smiling"]:  # smile creases beside the corners
        for side, i in ((-1.0, 0), (1.0, -1)):
            cx, cy = x[i], base[i]
            pen.line(
                [(cx + side * 2.5, cy - 7.0), (cx + side * 4.5, cy), (cx + side * 3.0, cy + 5.0)],
                fill=shaded(skin, 0.65, 130),
                width=0.9,
            )


def draw_age(pen: Pen, face: Face, skin) -> None:
    """Forehead lines, folds from nose to mouth, lines under the eyes: an older face."""
    line = shaded(skin, 0.55, 160)
    t = np.linspace(-1, 1, 9)
    for y, half in ((76.0, 13.0), (82.0, 16.0), (88.0, 14.0)):
        pen.line(np.stack([face.cx + half * t, y + 1.5 * t**2], 1), fill=line, width=0.9)
    for side in (-1.0, 1.0):
        x0 = face.cx + face.turn * 1.4 + side * 9.0
        pen.line(
            [(x0, 139.0), (x0 + side * 4.5, 147.0), (x0 + side * 7.0, 157.0)], fill=line, width=1.1
        )
        ex = face.cx + side * face.eye_dx + face.turn
        pen.line([(ex - 6.0, face.eye_y + 7.0), (ex + 6.0, face.eye_y + 7.0)], fill=line, width=0.7)


def draw_glasses(pen: Pen, face: Face, attrs, photo: Photo) -> None:
    # Sunglasses would hide what narrow eyes, bags and eye makeup labels promise: clear lenses then.
    dark = photo.sunglasses and not (
        attrs["Narrow_Eyes"] or attrs["Bags_Under_Eyes"] or attrs["Heavy_Makeup"]
    )
    lens = (22, 22, 28, 235) if dark else (200, 220, 235, 40)
    frame = photo.frame
    half = 12.0 if photo.round_glasses else 13.0  # lens half width
    bridge_x = face.eye_dx - half  # from the middle to each lens' inner edge
    middle = face.cx + face.turn
    pen.line(
        [
            (middle - bridge_x, face.eye_y - 2.0),
            (middle, face.eye_y - 4.0),
            (middle + bridge_x, face.eye_y - 2.0),
        ],
        fill=frame,
        width=2.0,
    )
    for side in (-1.0, 1.0):
        ex = face.cx + side * face.eye_dx + face.turn
        if photo.round_glasses:
            pen.ellipse(ex, face.eye_y, 12.0, 9.5, fill=lens, outline=frame, width=2.4)
        else:
            pen.rounded(
                ex - 13.0,
                face.eye_y - 8.0,
                ex + 13.0,
                face.eye_y + 8.5,
                radius=3.5,
                fill=lens,
                outline=frame,
                width=2.4,
            )
        outer = ex + side * half
        pen.line(
            [
                (outer, face.eye_y - 3.0),
                (face.cx + side * (face.half_width + 1.0), face.eye_y - 1.0),
            ],
            fill=frame,
            width=2.0,
        )
