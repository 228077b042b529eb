"""The embedded default data: drawn faces in CelebA's layout, so everything runs without CelebA.

:func:`make_celeba` writes a small dataset laid out exactly like the official CelebA download
(``img_align_celeba/000001.jpg`` ..., ``list_attr_celeba.txt``, ``list_eval_partition.txt``,
``identity_CelebA.txt``); :func:`make_fotos` writes a folder of one "person" and of strangers, laid
out like a user's ``fotos/``. Both are deterministic from a seed and need only Pillow and numpy.

The faces are cartoons, but they sit in CelebA's aligned geometry (eyes near (69, 111) and
(108, 111), nose tip near (88, 136), mouth corners near (71, 152) and (106, 152) in the 178x218
crop) and the attributes in :data:`DRAWN_ATTRIBUTES` are drawn so that the picture agrees with the
label: a model that learns them learns something visible. The remaining attributes (``Attractive``,
``High_Cheekbones``) cannot be drawn convincingly; they are random at CelebA's own rates, so a
model can do no better than the majority baseline on them, as it should.

Each identity (:class:`FaceIdentity`) keeps its skin, face shape, eyes, nose, hair, sex and habits
across photos; each photo varies pose, light, background, expression and accessories.

Rendering draws at twice the size on a canvas with a margin, turns and shifts it for the pose, and
halves it (a box filter), which smooths the edges at a fraction of the cost of anti-aliased drawing.
"""

from __future__ import annotations

import json
import math
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from facetransfer.celeba import ATTRIBUTE_NAMES
from facetransfer.config import CELEBA_CROP_SIZE

CROP_WIDTH, CROP_HEIGHT = CELEBA_CROP_SIZE
JPEG_QUALITY = 90
SCALE = 2  # drawn at twice the size, then halved: cheap anti-aliasing
MARGIN = 30  # canvas border (crop pixels) so a turned, shifted, shrunk face never shows an edge

# Bump when the drawing changes, so a cached dataset made by an older version is redrawn.
GENERATOR_VERSION = 1
CELEBA_MARKER = "synthetic_celeba.json"
FOTOS_MARKER = "synthetic_fotos.json"

# CelebA's positive rate of each attribute, computed once from all 202,599 rows of the official
# list_attr_celeba.txt (/work/shared/data/celeba). The undrawn attributes are sampled at these.
CELEBA_POSITIVE_RATES: dict[str, float] = {
    "5_o_Clock_Shadow": 0.1111,
    "Arched_Eyebrows": 0.2670,
    "Attractive": 0.5125,
    "Bags_Under_Eyes": 0.2046,
    "Bald": 0.0224,
    "Bangs": 0.1516,
    "Big_Lips": 0.2408,
    "Big_Nose": 0.2345,
    "Black_Hair": 0.2393,
    "Blond_Hair": 0.1480,
    "Blurry": 0.0509,
    "Brown_Hair": 0.2052,
    "Bushy_Eyebrows": 0.1422,
    "Chubby": 0.0576,
    "Double_Chin": 0.0467,
    "Eyeglasses": 0.0651,
    "Goatee": 0.0628,
    "Gray_Hair": 0.0419,
    "Heavy_Makeup": 0.3869,
    "High_Cheekbones": 0.4550,
    "Male": 0.4168,
    "Mouth_Slightly_Open": 0.4834,
    "Mustache": 0.0415,
    "Narrow_Eyes": 0.1151,
    "No_Beard": 0.8349,
    "Oval_Face": 0.2841,
    "Pale_Skin": 0.0429,
    "Pointy_Nose": 0.2774,
    "Receding_Hairline": 0.0798,
    "Rosy_Cheeks": 0.0657,
    "Sideburns": 0.0565,
    "Smiling": 0.4821,
    "Straight_Hair": 0.2084,
    "Wavy_Hair": 0.3196,
    "Wearing_Earrings": 0.1889,
    "Wearing_Hat": 0.0485,
    "Wearing_Lipstick": 0.4724,
    "Wearing_Necklace": 0.1230,
    "Wearing_Necktie": 0.0727,
    "Young": 0.7736,
}

# The same file split by sex, (female, male), for the attributes whose rate depends on it most.
# Identities are drawn at these so that the dataset's overall rates stay near CelebA's.
_RATES_BY_SEX: dict[str, tuple[float, float]] = {
    "Arched_Eyebrows": (0.4196, 0.0535),
    "Bags_Under_Eyes": (0.1019, 0.3482),
    "Bangs": (0.2011, 0.0823),
    "Big_Lips": (0.3013, 0.1561),
    "Big_Nose": (0.1023, 0.4196),
    "Bushy_Eyebrows": (0.0692, 0.2442),
    "Chubby": (0.0122, 0.1211),
    "Eyeglasses": (0.0230, 0.1241),
    "Heavy_Makeup": (0.6614, 0.0028),
    "Mouth_Slightly_Open": (0.5255, 0.4245),
    "Oval_Face": (0.3300, 0.2199),
    "Pale_Skin": (0.0562, 0.0244),
    "Pointy_Nose": (0.3596, 0.1624),
    "Receding_Hairline": (0.0529, 0.1174),
    "Rosy_Cheeks": (0.1105, 0.0030),
    "Smiling": (0.5405, 0.4003),
    "Wearing_Earrings": (0.3125, 0.0160),
    "Wearing_Hat": (0.0249, 0.0814),
    "Wearing_Lipstick": (0.8056, 0.0062),
    "Wearing_Necklace": (0.1981, 0.0178),
    "Wearing_Necktie": (0.0003, 0.1741),
    "Young": (0.8741, 0.6330),
}

# Attributes that no drawing shows; random at CelebA's rate, independent of the picture.
RANDOM_ATTRIBUTES: tuple[str, ...] = ("Attractive", "High_Cheekbones")
DRAWN_ATTRIBUTES: tuple[str, ...] = tuple(n for n in ATTRIBUTE_NAMES if n not in RANDOM_ATTRIBUTES)

HAIR_COLOUR_ATTRIBUTES = {
    "black": "Black_Hair",
    "blond": "Blond_Hair",
    "brown": "Brown_Hair",
    "gray": "Gray_Hair",
}
# "red" stands for every hair colour that is none of CelebA's four (auburn, ginger, dyed).
HAIR_COLOURS = ("black", "brown", "blond", "gray", "red")
_HAIR_RGB = {
    "black": (32, 27, 27),
    "brown": (104, 67, 42),
    "blond": (224, 194, 130),
    "gray": (176, 176, 178),
    "red": (160, 68, 36),
}
_RED_SHADES = ((150, 60, 34), (190, 88, 40), (128, 46, 30), (205, 105, 60))
_DYED_SHADES = ((215, 105, 170), (70, 95, 190), (125, 65, 165))
_BROW_RGB = {
    "black": (28, 22, 22),
    "brown": (66, 42, 28),
    "blond": (140, 105, 62),
    "gray": (105, 105, 108),
    "red": (112, 50, 28),
}
# Neighbouring colours a photo may show instead (dye, light): still never two colours at once.
_HAIR_NEIGHBOURS = {
    "black": ("brown",),
    "brown": ("black", "blond"),
    "blond": ("brown",),
    "gray": ("gray",),
    "red": ("brown",),
}
_SKIN_TONES = np.array(
    [
        (236, 198, 170),
        (222, 178, 146),
        (200, 152, 116),
        (168, 118, 84),
        (122, 82, 58),
        (92, 62, 46),
    ],
    dtype=np.float64,
)
_PALE_SKIN = (250, 234, 225)
_EYE_RGB = (
    (88, 56, 32),
    (52, 36, 26),
    (72, 112, 160),
    (82, 120, 82),
    (122, 96, 52),
    (112, 122, 132),
)
# Deep, saturated shades, far from any natural lip colour so that the label is visible.
_LIPSTICKS = ((192, 14, 40), (226, 48, 120), (122, 18, 56), (232, 38, 30))
_EYESHADOWS = ((120, 70, 140), (70, 90, 150), (110, 70, 50), (60, 55, 60), (170, 90, 110))
_HATS = (
    (190, 35, 40),
    (30, 45, 110),
    (40, 110, 60),
    (25, 25, 28),
    (200, 180, 140),
    (235, 235, 230),
    (110, 50, 130),
    (230, 120, 30),
)
_CLOTHES = (
    (40, 50, 80),
    (120, 30, 40),
    (60, 60, 64),
    (235, 235, 232),
    (30, 80, 60),
    (150, 120, 90),
    (20, 20, 24),
    (90, 130, 170),
)
_TIES = ((150, 25, 35), (30, 50, 120), (70, 70, 75), (120, 90, 30), (60, 100, 60))
_METALS = ((230, 190, 60), (215, 215, 225), (245, 240, 225))  # gold, silver, pearl
_FRAMES = ((20, 18, 18), (55, 35, 22), (25, 30, 60), (70, 20, 25))
_IMAGE_NAME = re.compile(r"^\d{6}\.jpg$")
# Independent random streams, so that e.g. adding identities does not change anyone's photos.
_STREAM_IDENTITIES, _STREAM_PHOTOS, _STREAM_ORDER, _STREAM_PERSON, _STREAM_OTHERS = range(5)


# --------------------------------------------------------------------------------------------
# Identities and their per-photo labels.


@dataclass(frozen=True)
class FaceIdentity:
    """One drawn person: what stays the same across their photos, and their habits.

    ``p_*`` fields are this person's chance of showing something in any one photo (glasses, a
    hat, a smile ...). They are drawn per identity so habits cluster, as in CelebA, where one
    person wears glasses in most of their photos and another in none.
    """

    identity_id: int
    male: bool
    young: bool
    pale: bool
    skin: tuple[int, int, int]
    hair_colour: str  # one of HAIR_COLOURS
    hair_rgb: tuple[int, int, int]
    hair_length: str  # short, medium, long
    hair_texture: str  # straight, wavy, curly (curly is labelled neither Straight nor Wavy)
    bald: bool
    receding: bool
    bangs: bool
    eye_rgb: tuple[int, int, int]
    eye_spacing: float  # crop pixels added to half the distance between the eyes
    face_width: float  # multiplies the face's half width
    face_length: float  # multiplies the chin's distance from the eyes
    jaw: float  # superellipse exponent of the lower face: 2 round, 3 square
    chubby: bool
    double_chin: bool
    oval_face: bool
    big_nose: bool
    pointy_nose: bool
    big_lips: bool
    narrow_eyes: bool
    bushy_brows: bool
    arched_brows: bool
    beard: str  # none, goatee, mustache, goatee_mustache, full, full_mustache
    sideburns: bool
    lip_rgb: tuple[int, int, int]
    makeup: bool
    p_bags: float
    p_smile: float
    p_glasses: float
    p_hat: float
    p_earrings: float
    p_necklace: float
    p_necktie: float
    p_lipstick: float
    p_rosy: float
    p_stubble: float
    p_shaved: float


def _pick(rng: np.random.Generator, options, weights=None):
    """One of ``options`` (a tuple), with optional weights."""
    if weights is None:
        return options[int(rng.integers(len(options)))]
    p = np.asarray(weights, dtype=np.float64)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def _habit(rng: np.random.Generator, rate: float, concentration: float = 1.5) -> float:
    """A person's own chance of something whose population rate is ``rate``.

    Beta-distributed with mean ``rate``: a low concentration makes habits strongly personal (many
    people never, a few often), which keeps the population rate while clustering it by identity.
    """
    if rate <= 0.0:
        return 0.0
    return float(rng.beta(rate * concentration, (1.0 - rate) * concentration))


def _rate(name: str, male: bool) -> float:
    female_rate, male_rate = _RATES_BY_SEX[name]
    return male_rate if male else female_rate


def _skin_tone(rng: np.random.Generator, pale: bool) -> tuple[int, int, int]:
    if pale:
        base = np.array(_PALE_SKIN, dtype=np.float64)
    else:
        # Lighter tones more often, as in CelebA; a continuous position along the tone scale.
        position = rng.beta(1.3, 2.4) * (len(_SKIN_TONES) - 1)
        low = int(position)
        high = min(low + 1, len(_SKIN_TONES) - 1)
        base = _SKIN_TONES[low] + (_SKIN_TONES[high] - _SKIN_TONES[low]) * (position - low)
    base = base + rng.normal(0.0, 4.0, 3)
    return _rgb(base)


def _hair_colour(rng: np.random.Generator, male: bool, young: bool) -> str:
    # Gray hair only on older people (CelebA: 23% of older men, 7.5% of older women).
    if not young and rng.random() < (0.23 if male else 0.075):
        return "gray"
    # Order of HAIR_COLOURS: black, brown, blond, gray (drawn above), red (none of CelebA's four).
    weights = (0.42, 0.2, 0.03, 0.0, 0.35) if male else (0.24, 0.26, 0.27, 0.0, 0.23)
    return _pick(rng, HAIR_COLOURS, weights)


def _hair_rgb(rng: np.random.Generator, colour: str) -> tuple[int, int, int]:
    if colour == "red":
        base = _pick(rng, _DYED_SHADES) if rng.random() < 0.15 else _pick(rng, _RED_SHADES)
    else:
        base = _HAIR_RGB[colour]
    return _rgb(np.array(base, dtype=np.float64) * rng.uniform(0.9, 1.1))


def random_identity(rng: np.random.Generator, identity_id: int) -> FaceIdentity:
    """A new person, drawn from ``rng`` (sex, age and habits at CelebA's rates)."""
    male = bool(rng.random() < CELEBA_POSITIVE_RATES["Male"])
    young = bool(rng.random() < _rate("Young", male))
    pale = bool(rng.random() < _rate("Pale_Skin", male))
    colour = _hair_colour(rng, male, young)
    length = _pick(
        rng, ("short", "medium", "long"), (0.86, 0.08, 0.06) if male else (0.08, 0.3, 0.62)
    )
    texture = _pick(
        rng, ("straight", "wavy", "curly"), (0.26, 0.15, 0.59) if male else (0.2, 0.48, 0.32)
    )
    bald = bool(male and rng.random() < 0.06)
    chubby = bool(rng.random() < _rate("Chubby", male))
    double_chin = bool(rng.random() < (0.5 if chubby else (0.045 if male else 0.004)))
    if male:
        beard = _pick(
            rng,
            ("none", "goatee", "mustache", "goatee_mustache", "full", "full_mustache"),
            (0.6, 0.12, 0.05, 0.04, 0.16, 0.03),
        )
    else:
        beard = "none"
    makeup = bool(not male and rng.random() < 0.75)
    skin = _skin_tone(rng, pale)
    return FaceIdentity(
        identity_id=int(identity_id),
        male=male,
        young=young,
        pale=pale,
        skin=skin,
        hair_colour=colour,
        hair_rgb=_hair_rgb(rng, colour),
        hair_length=length,
        hair_texture=texture,
        bald=bald,
        receding=bool(not bald and rng.random() < _rate("Receding_Hairline", male)),
        bangs=bool(rng.random() < _rate("Bangs", male)),
        eye_rgb=_pick(rng, _EYE_RGB),
        eye_spacing=float(rng.uniform(-2.0, 2.0)),
        face_width=float(rng.uniform(0.93, 1.05)),
        face_length=float(rng.uniform(0.96, 1.04)),
        jaw=float(rng.uniform(2.5, 3.1) if male else rng.uniform(2.0, 2.4)),
        chubby=chubby,
        double_chin=double_chin,
        oval_face=bool(not chubby and rng.random() < _rate("Oval_Face", male)),
        big_nose=bool(rng.random() < _rate("Big_Nose", male)),
        pointy_nose=bool(rng.random() < _rate("Pointy_Nose", male)),
        big_lips=bool(rng.random() < _rate("Big_Lips", male)),
        narrow_eyes=bool(rng.random() < 0.11),
        bushy_brows=bool(rng.random() < _rate("Bushy_Eyebrows", male)),
        arched_brows=bool(rng.random() < _rate("Arched_Eyebrows", male)),
        beard=beard,
        sideburns=bool(male and rng.random() < (0.6 if beard.startswith("full") else 0.03)),
        lip_rgb=_natural_lips(skin),
        makeup=makeup,
        p_bags=_habit(rng, _rate("Bags_Under_Eyes", male), 1.0),
        p_smile=_habit(rng, _rate("Smiling", male), 4.0),
        p_glasses=_habit(rng, _rate("Eyeglasses", male), 0.6),
        p_hat=_habit(rng, _rate("Wearing_Hat", male), 0.8),
        p_earrings=_habit(rng, _rate("Wearing_Earrings", male), 1.0),
        p_necklace=_habit(rng, _rate("Wearing_Necklace", male), 1.0),
        p_necktie=_habit(rng, _rate("Wearing_Necktie", male), 1.0),
        p_lipstick=(0.98 if makeup else 0.3) if not male else 0.0,
        p_rosy=_habit(rng, _rate("Rosy_Cheeks", male), 1.0) if not male else 0.0,
        p_stubble=(0.35 if beard != "none" else 0.2) if male else 0.0,
        p_shaved=0.08 if beard != "none" else 0.0,
    )


def _natural_lips(skin: tuple[int, int, int]) -> tuple[int, int, int]:
    """Unpainted lips: the skin, darker and redder."""
    r, g, b = skin
    return _rgb((r * 0.85 + 10, g * 0.68, b * 0.7))


def make_identities(n: int, seed: int = 0) -> list[FaceIdentity]:
    """The ``n`` people of :func:`make_celeba` with this ``seed`` (ids like CelebA's, 1..10177)."""
    rng = np.random.default_rng([seed, _STREAM_IDENTITIES])
    ids = rng.choice(np.arange(1, 10178), size=n, replace=False) if n <= 10177 else np.arange(n) + 1
    return [random_identity(rng, int(i)) for i in ids]


def person_identity(person: str = "paco", seed: int = 0) -> FaceIdentity:
    """The person of :func:`make_fotos`: never one of :func:`make_identities`' people.

    Drawn from its own random stream, keyed by the name, with an id (10,000,000 and up) that no
    dataset of make_celeba's (at most 999,999 identities) can hold.
    """
    key = zlib.crc32(person.encode("utf-8"))
    rng = np.random.default_rng([seed, _STREAM_PERSON, key])
    return random_identity(rng, 10_000_000 + key % 1_000_000)


def _other_identities(n: int, seed: int) -> list[FaceIdentity]:
    rng = np.random.default_rng([seed, _STREAM_OTHERS])
    return [random_identity(rng, 20_000_000 + i) for i in range(n)]


def sample_attributes(identity: FaceIdentity, rng: np.random.Generator) -> dict[str, bool]:
    """The 40 labels of one photo of ``identity``: its habits, then rules that keep them drawable.

    Every call takes the same number of values from ``rng``. The rules (see :func:`_reconcile`)
    make sure no label contradicts what :func:`render_face` will draw.
    """
    u = rng.random(24)
    ident = identity
    colour = ident.hair_colour
    if u[0] < 0.06:
        colour = _HAIR_NEIGHBOURS[colour][int(u[1] * len(_HAIR_NEIGHBOURS[colour]))]
    texture = ident.hair_texture
    if u[2] < 0.08:
        texture = ("straight", "wavy", "curly")[int(u[3] * 3)]
    beard = ident.beard if u[4] >= ident.p_shaved else "none"
    smiling = bool(u[5] < ident.p_smile)
    glasses = bool(u[6] < ident.p_glasses)
    attrs = {name: False for name in ATTRIBUTE_NAMES}
    attrs.update(
        {
            "Male": ident.male,
            "Young": ident.young,
            "Pale_Skin": ident.pale,
            "Bald": ident.bald,
            "Receding_Hairline": ident.receding,
            # A fringe most days for those who wear one, rarely for the others.
            "Bangs": bool(u[7] < (0.9 if ident.bangs else 0.02)),
            "Straight_Hair": texture == "straight",
            "Wavy_Hair": texture == "wavy",
            "Chubby": ident.chubby,
            "Double_Chin": ident.double_chin,
            "Oval_Face": ident.oval_face,
            "Big_Nose": ident.big_nose,
            "Pointy_Nose": ident.pointy_nose,
            "Big_Lips": ident.big_lips,
            "Narrow_Eyes": bool(u[9] < (0.9 if ident.narrow_eyes else 0.02)),
            "Bushy_Eyebrows": ident.bushy_brows,
            "Arched_Eyebrows": ident.arched_brows,
            "Bags_Under_Eyes": bool(u[10] < ident.p_bags),
            "Smiling": smiling,
            # CelebA: 76% of smiles and 22% of straight faces have the mouth slightly open.
            "Mouth_Slightly_Open": bool(u[11] < (0.76 if smiling else 0.22)),
            "Eyeglasses": glasses,
            "Wearing_Hat": bool(u[12] < ident.p_hat),
            "Wearing_Earrings": bool(u[13] < ident.p_earrings),
            "Wearing_Necklace": bool(u[14] < ident.p_necklace),
            "Wearing_Necktie": bool(u[15] < ident.p_necktie),
            "Wearing_Lipstick": bool(u[16] < ident.p_lipstick),
            "Heavy_Makeup": bool(ident.makeup and u[17] < 0.88),
            "Rosy_Cheeks": bool(u[18] < ident.p_rosy),
            "5_o_Clock_Shadow": bool(u[19] < ident.p_stubble),
            "Blurry": bool(u[20] < CELEBA_POSITIVE_RATES["Blurry"]),
            "Goatee": beard in ("goatee", "goatee_mustache"),
            "Mustache": beard in ("mustache", "goatee_mustache", "full_mustache"),
            "Sideburns": ident.sideburns,
            "Attractive": bool(u[21] < CELEBA_POSITIVE_RATES["Attractive"]),
            "High_Cheekbones": bool(u[22] < CELEBA_POSITIVE_RATES["High_Cheekbones"]),
        }
    )
    attrs["No_Beard"] = beard == "none"
    if not ident.bald:
        if colour in HAIR_COLOUR_ATTRIBUTES:
            attrs[HAIR_COLOUR_ATTRIBUTES[colour]] = True
    return _reconcile(attrs, ident)


def _reconcile(attrs: dict[str, bool], identity: FaceIdentity) -> dict[str, bool]:
    """Rules that keep labels true to the picture.

    - Bald: no hair colour, bangs, texture or receding line (there is no hair to show them).
    - Bangs hide the hairline, so a fringe and a receding hairline never go together.
    - A hat hides the top of the head: no Bald, Bangs or Receding_Hairline; with short hair the
      hair is hidden, so no hair colour or texture either. Longer hair shows below the hat.
    - Women have no beard, stubble, sideburns or mustache; men wear no lipstick or heavy makeup.
    - Mustache, goatee and full beards mean No_Beard is false; stubble alone does not.
    - Heavy makeup always includes lipstick (CelebA: 98%).
    """
    if attrs["Bald"]:
        for name in (*HAIR_COLOUR_ATTRIBUTES.values(), "Bangs", "Straight_Hair", "Wavy_Hair"):
            attrs[name] = False
        attrs["Receding_Hairline"] = False
    if attrs["Bangs"]:
        attrs["Receding_Hairline"] = False
    if attrs["Wearing_Hat"]:
        attrs["Bald"] = attrs["Bangs"] = attrs["Receding_Hairline"] = False
        if identity.hair_length == "short":
            for name in (*HAIR_COLOUR_ATTRIBUTES.values(), "Straight_Hair", "Wavy_Hair"):
                attrs[name] = False
    if not attrs["Male"]:
        for name in ("5_o_Clock_Shadow", "Goatee", "Mustache", "Sideburns"):
            attrs[name] = False
        attrs["No_Beard"] = True
    else:
        attrs["Wearing_Lipstick"] = attrs["Heavy_Makeup"] = False
    if attrs["Mustache"] or attrs["Goatee"]:
        attrs["No_Beard"] = False
    if attrs["Heavy_Makeup"]:
        attrs["Wearing_Lipstick"] = True
    return attrs


# --------------------------------------------------------------------------------------------
# Drawing.


def _rgb(values) -> tuple[int, int, int]:
    r, g, b = (int(round(min(255.0, max(0.0, float(v))))) for v in values)
    return (r, g, b)


def _shade(rgb, factor: float, alpha: int | None = None) -> tuple[int, ...]:
    """``rgb`` scaled by ``factor`` (darker below 1), optionally with an alpha for blending."""
    out = _rgb(np.asarray(rgb, dtype=np.float64) * factor)
    return out if alpha is None else (*out, alpha)


@dataclass
class _Photo:
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


def _photo(rng: np.random.Generator) -> _Photo:
    u = rng.random(20)
    # Muted, like rooms and walls: a grey level plus a moderate colour cast, varying smoothly.
    cast = rng.uniform(-1.0, 1.0, 3) * rng.uniform(8.0, 50.0)
    background = rng.uniform(45, 215) + cast[None, None, :] + rng.normal(0, 16, (3, 4, 3))
    return _Photo(
        angle=float(np.clip(rng.normal(0, 3.5), -8, 8)),
        shift=(float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3))),
        zoom=float(rng.uniform(0.96, 1.04)),
        turn=float(rng.uniform(-3.5, 3.5)),
        gain=float(rng.uniform(0.84, 1.1)),
        light_slope=float(rng.uniform(-0.16, 0.16)),
        tint=rng.uniform(0.95, 1.05, 3),
        background=np.clip(background, 0, 255),
        clutter=rng.random((2, 8)),
        clothes=_CLOTHES[int(u[0] * len(_CLOTHES))],
        tie=_TIES[int(u[1] * len(_TIES))],
        hat=_HATS[int(u[2] * len(_HATS))],
        hat_style=int(u[3] * 3),
        hat_y=float(72 + u[4] * 6),
        frame=_FRAMES[int(u[5] * len(_FRAMES))],
        round_glasses=bool(u[6] < 0.4),
        sunglasses=bool(u[7] < 0.25),
        earring_hoop=bool(u[8] < 0.5),
        metal=_METALS[int(u[9] * len(_METALS))],
        necklace_metal=_METALS[int(u[10] * len(_METALS))],
        lipstick=_LIPSTICKS[int(u[11] * len(_LIPSTICKS))],
        eyeshadow=_EYESHADOWS[int(u[12] * len(_EYESHADOWS))],
        blur=float(1.8 + u[13] * 1.0),
        noise_seed=int(rng.integers(2**31)),
        strands=rng.random(24),
        stubble=rng.random((2, 420)),
        fringe=rng.random(14),
        gaze=(float(u[14] * 1.6 - 0.8), float(u[15] * 1.0 - 0.5)),
        mouth_gap=float(4.5 + u[16] * 2.5),
        skin_jitter=float(0.97 + u[17] * 0.06),
    )


class _Pen:
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

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width: float = 0.0) -> None:
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

    def rounded(self, x0, y0, x1, y1, radius, fill=None, outline=None, width: float = 0.0) -> None:
        self.draw.rounded_rectangle(
            self.box(x0, y0, x1, y1),
            radius=radius * SCALE,
            fill=fill,
            outline=outline,
            width=max(1, round(width * SCALE)) if outline else 0,
        )


@dataclass
class _Face:
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


def _face_geometry(identity: FaceIdentity, attrs: dict[str, bool], photo: _Photo) -> _Face:
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
    return _Face(
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


def _hair_rgb_for(identity: FaceIdentity, attrs: dict[str, bool]) -> tuple[int, int, int]:
    """The hair colour the labels ask for; the person's own shade when it is their colour."""
    for colour, name in HAIR_COLOUR_ATTRIBUTES.items():
        if attrs[name]:
            return identity.hair_rgb if identity.hair_colour == colour else _HAIR_RGB[colour]
    return identity.hair_rgb if identity.hair_colour == "red" else _HAIR_RGB["red"]


def _skin_for(identity: FaceIdentity, pale: bool) -> tuple[int, int, int]:
    """The person's skin, or the nearest one that agrees with the Pale_Skin label."""
    if pale == identity.pale:
        return identity.skin
    return _PALE_SKIN if pale else _rgb(_SKIN_TONES[0])


def _draw_background(photo: _Photo) -> Image.Image:
    """The supersampled canvas: a smooth, muted wall with a few soft shapes on it."""
    size = ((CROP_WIDTH + 2 * MARGIN) * SCALE, (CROP_HEIGHT + 2 * MARGIN) * SCALE)
    grid = Image.fromarray(photo.background.astype(np.uint8), "RGB")
    # Smooth at half size, then doubled: the canvas is halved again before anyone sees it.
    half = (size[0] // SCALE, size[1] // SCALE)
    canvas = grid.resize(half, Image.Resampling.BILINEAR).resize(size, Image.Resampling.NEAREST)
    pen = _Pen(canvas)
    for row in photo.clutter:  # soft shapes: a door frame, a window, a poster
        if row[0] < 0.5:
            continue
        x0, y0 = -MARGIN + row[1] * 200, -MARGIN + row[2] * 200
        colour = (*_rgb(row[4:7] * 255), 90)
        pen.rounded(x0, y0, x0 + 20 + row[3] * 90, y0 + 30 + row[7] * 120, 4, fill=colour)
    return canvas


def _draw_neckline(pen: _Pen, face: _Face, attrs: dict[str, bool], photo: _Photo, neck_rgb) -> None:
    """What shows at the neck: a round neckline, or shirt, collar and tie; a necklace."""
    cx = face.cx
    if attrs["Wearing_Necktie"]:
        # Jacket open over a light shirt, collar points, knot and blade.
        pen.polygon(
            [(cx - 17, 197), (cx + 17, 197), (cx + 2, 260), (cx - 2, 260)], fill=(236, 236, 240)
        )
        tie = photo.tie
        pen.polygon(
            [(cx - 4.5, 199), (cx + 4.5, 199), (cx + 3, 207), (cx - 3, 207)], fill=_shade(tie, 0.8)
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
        pen.line(beads, fill=_shade(metal, 0.7), width=1.0)
        for x, y in beads:
            pen.ellipse(x, y, 1.5, 1.5, fill=metal, outline=_shade(metal, 0.55), width=0.4)
        pen.ellipse(cx, 204.5, 3.2, 3.8, fill=metal, outline=_shade(metal, 0.5), width=0.6)


def _wavy(values: np.ndarray, phase: float, amplitude: float, period: float) -> np.ndarray:
    return amplitude * np.sin(values / period * 2.0 * np.pi + phase * 2.0 * np.pi)


def _draw_back_hair(
    pen: _Pen, face: _Face, identity: FaceIdentity, hair, photo: _Photo, texture: str
):
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
    dark = _shade(hair, 0.72, 150) if sum(hair) > 150 else _shade((60, 56, 56), 1.0, 120)
    inner = face.half_width + 1.0
    for i in range(10):  # strands down the sides, kept between the face and the hair's edge
        where = 0.2 + 0.65 * photo.strands[i + 2]
        if i % 2:
            xs = face.cx - inner - where * (face.cx - inner - left_x)
        else:
            xs = face.cx + inner + where * (right_x - face.cx - inner)
        pen.line(np.stack([xs, ys], axis=1)[:-1], fill=dark, width=1.0)


def _hairline(face: _Face, receding: bool, xs: np.ndarray) -> np.ndarray:
    """Height of the hairline across the forehead; a receding one rises at the temples."""
    d = np.clip(np.abs(xs - face.cx) / face.width_at(100.0), 0.0, 1.0)
    if receding:
        return 55.0 + 12.0 * np.exp(-((d / 0.14) ** 2)) + 45.0 * d**4
    return 69.0 + 31.0 * d**3


def _draw_hair_cap(pen: _Pen, face: _Face, attrs, hair, photo: _Photo, texture: str) -> None:
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
    dark = _shade(hair, 0.7, 160) if sum(hair) > 150 else _shade((70, 64, 62), 1.0, 130)
    light = _shade(hair, 1.25, 110)
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


def _draw_bangs(pen: _Pen, face: _Face, hair, photo: _Photo, texture: str) -> None:
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
    dark = _shade(hair, 0.7, 150) if sum(hair) > 150 else _shade((70, 64, 62), 1.0, 130)
    for x, y in zip(xs[1:-1:2], bottom[1:-1:2], strict=True):
        pen.line([(x - 1, 66), (x, y - 1)], fill=dark, width=0.9)


def _draw_hat(pen: _Pen, face: _Face, photo: _Photo) -> None:
    colour = photo.hat
    y = photo.hat_y
    w = face.half_width
    t = np.linspace(0, np.pi, 30)
    if photo.hat_style == 0:  # beanie with a folded band
        dome = np.stack([face.cx + (w + 7) * np.cos(t), y - (y - 18) * np.sin(t)], axis=1)
        pen.polygon(dome, fill=colour)
        pen.rounded(face.cx - w - 8, y - 12, face.cx + w + 8, y + 3, 5, fill=_shade(colour, 0.82))
    elif photo.hat_style == 1:  # cap with a brim towards the camera
        dome = np.stack([face.cx + (w + 6) * np.cos(t), y - (y - 20) * np.sin(t)], axis=1)
        pen.polygon(dome, fill=colour)
        pen.ellipse(face.cx, y + 2, w * 0.95, 7.0, fill=_shade(colour, 0.7))
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
        pen.ellipse(face.cx, y, w + 24, 7.0, fill=_shade(colour, 0.85))
        pen.rounded(face.cx - w - 1, y - 12, face.cx + w + 1, y - 5, 1, fill=_shade(colour, 0.45))


def _draw_ears(pen: _Pen, face: _Face, skin) -> None:
    for side in (-1.0, 1.0):
        x = face.cx + side * (face.half_width - 0.5) - face.turn * 0.3
        pen.ellipse(x, 121.0, 6.5, 14.0, fill=_shade(skin, 0.94))
        pen.ellipse(x + side * 1.5, 121.0, 3.0, 8.5, fill=_shade(skin, 0.78, 120))


def _draw_earrings(pen: _Pen, face: _Face, photo: _Photo) -> None:
    metal = photo.metal
    for side in (-1.0, 1.0):
        x = face.cx + side * (face.half_width + 0.5) - face.turn * 0.3
        if photo.earring_hoop:
            pen.ellipse(x, 140.0, 4.5, 5.5, outline=metal, width=1.8)
        else:
            pen.line([(x, 134.0), (x, 140.0)], fill=_shade(metal, 0.6), width=0.8)
            pen.ellipse(x, 142.0, 3.0, 3.4, fill=metal, outline=_shade(metal, 0.5), width=0.6)


def _lower_face(face: _Face, grow: float, y_from: float) -> np.ndarray:
    """The outline below ``y_from``, left to right round the chin."""
    outline = face.outline(grow=grow, n=96)
    lower = outline[outline[:, 1] >= y_from]
    return lower[np.argsort(-np.arctan2(lower[:, 1] - face.cy, lower[:, 0] - face.cx))]


def _mouth_shape(face: _Face, attrs: dict[str, bool], photo: _Photo):
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


def _draw_beard(pen: _Pen, face: _Face, attrs, identity: FaceIdentity, photo: _Photo) -> None:
    # Beards keep the person's colour, a little darker than the hair; dyed hair leaves it auburn.
    if identity.hair_colour == "red":
        colour = _BROW_RGB["red"]
    else:
        colour = _shade(identity.hair_rgb, 0.8)
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
        pen.draw.point(_Pen.flat(dots), fill=(35, 35, 42, 170))  # single fine hairs
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
        chin = _lower_face(face, grow=1.5, y_from=face.cy)
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
    face: _Face, mx: float, half: float, lip_bottom: float, corner_y: float
) -> np.ndarray:
    outer = _lower_face(face, grow=1.5, y_from=124.0)
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


def _stubble_dots(face: _Face, photo: _Photo, mx: float, half: float, my: float, lip_bottom: float):
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


def _draw_eyes(pen: _Pen, face: _Face, identity: FaceIdentity, attrs, photo: _Photo, skin) -> None:
    narrow = attrs["Narrow_Eyes"]
    ry = 2.0 if narrow else 4.3
    for side in (-1.0, 1.0):
        ex = face.cx + side * face.eye_dx + face.turn
        ey = face.eye_y
        if attrs["Heavy_Makeup"]:
            pen.ellipse(ex + side * 1.0, ey - 4.5, 10.5, 5.5, fill=(*photo.eyeshadow, 150))
        if attrs["Bags_Under_Eyes"]:
            pen.ellipse(ex, ey + 6.0, 8.5, 3.5, fill=_shade(skin, 0.6, 150))
            pen.line(
                [(ex - 7.5, ey + 8.0), (ex, ey + 10.0), (ex + 7.5, ey + 8.0)],
                fill=_shade(skin, 0.45, 190),
                width=1.1,
            )
        pen.ellipse(
            ex, ey - ry - 2.5, 8.5, 2.0, outline=_shade(skin, 0.7, 120), width=0.7
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
        pen.line(low, fill=_shade(skin, 0.72, 120), width=0.6)
        if not attrs["Young"]:  # crow's feet
            for k in (-1, 0, 1):
                pen.line(
                    [(ex + side * 10, ey + k * 1.8), (ex + side * 14, ey + k * 3.2)],
                    fill=_shade(skin, 0.6, 110),
                    width=0.6,
                )


def _draw_brows(pen: _Pen, face: _Face, identity: FaceIdentity, attrs) -> None:
    colour = _BROW_RGB[identity.hair_colour]
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


def _draw_nose(pen: _Pen, face: _Face, attrs, skin) -> None:
    """Bridge shading, tip and nostril wings; a big nose is wider, longer and deeper shaded."""
    big = attrs["Big_Nose"]
    tip_x = face.cx + face.turn * 1.4
    tip_y = 137.5 if big else 136.0
    wing = 9.5 if big else 5.2
    depth = 5.5 if big else 3.2
    shadow = _shade(skin, 0.6, 150)
    root_x = face.cx + face.turn * 0.6
    for side in (-1.0, 1.0) if big else (-1.0,):  # shading down the sides of the bridge
        pen.line(
            [(root_x + side * 3.5, 114.0), (tip_x + side * (wing - 3.0), tip_y - 6.0)],
            fill=_shade(skin, 0.78, 100),
            width=1.6 if big else 1.0,
        )
    if big:  # the wide base of the nose in shadow
        pen.ellipse(tip_x, tip_y + 1.0, wing + 1.0, depth, fill=_shade(skin, 0.82, 110))
    if attrs["Pointy_Nose"]:
        # A narrow ridge ending in a sharp, lowered tip: highlight down the ridge, a shadowed
        # wedge beside it and a V outline under the point.
        pen.line(
            [(tip_x - 0.5, 117.0), (tip_x - 0.5, tip_y - 1.0)],
            fill=_shade(skin, 1.2, 150),
            width=1.4,
        )
        pen.polygon(
            [(tip_x + 1.0, tip_y - 13.0), (tip_x + 4.5, tip_y - 1.0), (tip_x, tip_y + 5.5)],
            fill=_shade(skin, 0.62, 170),
        )
        pen.line(
            [(tip_x - 4.0, tip_y - 1.5), (tip_x, tip_y + 5.5), (tip_x + 4.0, tip_y - 1.5)],
            fill=_shade(skin, 0.5, 200),
            width=1.2,
        )
    else:
        pen.ellipse(tip_x, tip_y, wing * 0.55, depth, fill=_shade(skin, 1.06, 150))
    t = np.linspace(0.2, np.pi - 0.2, 12)
    wings = np.stack([tip_x + wing * np.cos(t), tip_y + depth * np.sin(t)], axis=1)
    pen.line(wings, fill=shadow, width=1.5 if big else 1.0)
    for side in (-1.0, 1.0):
        nostril_x = tip_x + side * wing * 0.45
        pen.ellipse(
            nostril_x, tip_y + depth - 0.6, 2.4 if big else 1.5, 1.3, fill=(60, 35, 30, 190)
        )


def _draw_mouth(pen: _Pen, face: _Face, attrs, identity: FaceIdentity, photo: _Photo, skin) -> None:
    x, base, gap, upper, lower = _mouth_shape(face, attrs, photo)
    colour = photo.lipstick if attrs["Wearing_Lipstick"] else identity.lip_rgb
    top = np.stack([x, base - upper], 1)
    pen.polygon(np.concatenate([top, np.stack([x[::-1], base[::-1]], 1)]), fill=colour)
    bottom = np.stack([x, base + gap + lower], 1)
    pen.polygon(
        np.concatenate([np.stack([x, base + gap], 1), bottom[::-1]]), fill=_shade(colour, 1.06)
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
        pen.line(np.stack([x, base], 1), fill=_shade(colour, 0.5), width=1.1)
    if attrs["Smiling"]:  # smile creases beside the corners
        for side, i in ((-1.0, 0), (1.0, -1)):
            cx, cy = x[i], base[i]
            pen.line(
                [(cx + side * 2.5, cy - 7.0), (cx + side * 4.5, cy), (cx + side * 3.0, cy + 5.0)],
                fill=_shade(skin, 0.65, 130),
                width=0.9,
            )


def _draw_age(pen: _Pen, face: _Face, skin) -> None:
    """Forehead lines, folds from nose to mouth, lines under the eyes: an older face."""
    line = _shade(skin, 0.55, 160)
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
    photo = _photo(rng)
    face = _face_geometry(identity, attrs, photo)
    skin = _skin_for(identity, attrs["Pale_Skin"])
    skin = _shade(skin, photo.skin_jitter)
    neck = _shade(skin, 0.84)
    hair = _hair_rgb_for(identity, attrs)
    texture = "straight" if attrs["Straight_Hair"] else "wavy" if attrs["Wavy_Hair"] else "curly"
    has_hair = not attrs["Bald"]
    hat = attrs["Wearing_Hat"]

    canvas = _draw_background(photo)
    pen = _Pen(canvas)
    _draw_clothes_and_hair(pen, face, identity, attrs, photo, neck, hair, texture, has_hair)
    if attrs["Double_Chin"]:
        # A second, fuller curve below the chin, with a crease under each.
        pen.ellipse(face.cx, face.chin + 3.5, face.half_width * 0.62, 10.0, fill=_shade(skin, 0.95))
        t = np.linspace(0.3, np.pi - 0.3, 12)
        for rx, ry in ((0.5, 5.0), (0.58, 12.0)):
            crease = np.stack(
                [face.cx + face.half_width * rx * np.cos(t), face.chin + ry * np.sin(t)], 1
            )
            pen.line(crease, fill=_shade(skin, 0.66, 150), width=1.0)
    _draw_ears(pen, face, skin)
    pen.polygon(face.outline(), fill=skin)
    # Light from above: a soft shadow over the lower face (and a shine on a bald head).
    for y_from in (146.0, 157.0, 167.0):  # stacked thin layers: a gradient, not an edge
        pen.polygon(_lower_face(face, grow=0.0, y_from=y_from), fill=_shade(skin, 0.8, 24))
    if attrs["Bald"] and not hat:
        pen.ellipse(face.cx + 6, 56.0, 14.0, 8.0, fill=(255, 255, 255, 50))
    if not attrs["Young"]:
        _draw_age(pen, face, skin)
    if attrs["Rosy_Cheeks"]:
        for side in (-1.0, 1.0):
            pen.ellipse(
                face.cx + side * (face.eye_dx + 4) + face.turn,
                134.0,
                9.0,
                6.0,
                fill=(225, 70, 90, 105),
            )
    _draw_beard(pen, face, attrs, identity, photo)
    _draw_eyes(pen, face, identity, attrs, photo, skin)
    _draw_brows(pen, face, identity, attrs)
    _draw_nose(pen, face, attrs, skin)
    _draw_mouth(pen, face, attrs, identity, photo, skin)
    if has_hair and not hat:
        _draw_hair_cap(pen, face, attrs, hair, photo, texture)
        if attrs["Bangs"]:
            _draw_bangs(pen, face, hair, photo, texture)
    if hat:
        _draw_hat(pen, face, photo)
    if attrs["Eyeglasses"]:
        _draw_glasses(pen, face, attrs, photo)
    if attrs["Wearing_Earrings"]:
        _draw_earrings(pen, face, photo)
    return _finish(canvas, attrs, photo)


def _draw_clothes_and_hair(
    pen, face, identity, attrs, photo, neck, hair, texture, has_hair
) -> None:
    """Shoulders, long hair over them, then the neck in front of the hair."""
    pen.ellipse(face.cx, 236.0, 135.0, 40.0, fill=photo.clothes)
    if has_hair and identity.hair_length != "short":
        _draw_back_hair(pen, face, identity, hair, photo, texture)
    pen.rounded(face.cx - 21, 140.0, face.cx + 21, 205.0, 6, fill=neck)
    _draw_neckline(pen, face, attrs, photo, neck)


def _draw_glasses(pen: _Pen, face: _Face, attrs, photo: _Photo) -> None:
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
                3.5,
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


def _finish(canvas: Image.Image, attrs: dict[str, bool], photo: _Photo) -> Image.Image:
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


# --------------------------------------------------------------------------------------------
# Writing datasets.


def _check_count(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_marker(path: Path, content: dict) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _split_sizes(n_identities: int) -> tuple[int, int, int]:
    """Train, validation and test identity counts: 80/10/10, at least one each."""
    n_val = max(1, round(n_identities * 0.1))
    n_test = max(1, round(n_identities * 0.1))
    return n_identities - n_val - n_test, n_val, n_test


def _attribute_file_text(names: list[str], labels: list[dict[str, bool]]) -> str:
    """list_attr_celeba.txt exactly as CelebA writes it: count, names (with a trailing space),
    rows of right-aligned -1/1 in two-character fields, CRLF line ends."""
    lines = [str(len(names)), " ".join(ATTRIBUTE_NAMES) + " "]
    for name, attrs in zip(names, labels, strict=True):
        lines.append(name + "".join(f" {1 if attrs[a] else -1:2d}" for a in ATTRIBUTE_NAMES))
    return "\r\n".join(lines) + "\r\n"


def _save_jpeg(image: Image.Image, path: Path) -> None:
    image.save(path, "JPEG", quality=JPEG_QUALITY)


def make_celeba(root, n_identities: int = 60, images_per_identity: int = 20, seed: int = 0) -> Path:
    """Write a CelebA-format dataset of drawn faces under ``root`` and return ``root``.

    Writes ``img_align_celeba/000001.jpg`` ... (178x218 JPEG, quality 90), the official-format
    ``list_attr_celeba.txt``, ``list_eval_partition.txt`` (identity-disjoint 80/10/10; training
    images numbered first, as in CelebA) and ``identity_CelebA.txt``. A marker file written last
    records the parameters; a call that finds a complete set made with the same ones returns at
    once. Refuses to write into an ``img_align_celeba`` that holds images it did not make.
    """
    _check_count("n_identities", n_identities, 3)
    _check_count("images_per_identity", images_per_identity, 1)
    if n_identities * images_per_identity > 999_999:
        raise ValueError("at most 999,999 images: CelebA's names have six digits")
    root = Path(root)
    images = root / "img_align_celeba"
    marker_path = root / CELEBA_MARKER
    params = {
        "generator": "facetransfer.synthetic.make_celeba",
        "version": GENERATOR_VERSION,
        "n_identities": int(n_identities),
        "images_per_identity": int(images_per_identity),
        "seed": int(seed),
    }
    total = n_identities * images_per_identity
    if _celeba_is_complete(root, marker_path, params, total):
        return root
    _prepare_folder(root, images, marker_path)

    identities = make_identities(n_identities, seed)
    order_rng = np.random.default_rng([seed, _STREAM_ORDER])
    n_train, n_val, _ = _split_sizes(n_identities)
    split_of = np.zeros(n_identities, dtype=int)
    shuffled = order_rng.permutation(n_identities)
    split_of[shuffled[n_train : n_train + n_val]] = 1
    split_of[shuffled[n_train + n_val :]] = 2
    # CelebA numbers training images first, then validation, then test; identities interleave.
    photos = []
    for split in (0, 1, 2):
        members = [
            (i, k) for i in np.flatnonzero(split_of == split) for k in range(images_per_identity)
        ]
        photos += [(members[j], split) for j in order_rng.permutation(len(members))]

    names, labels, partition_lines, identity_lines = [], [], [], []
    for number, ((person, k), split) in enumerate(photos, start=1):
        name = f"{number:06d}.jpg"
        identity = identities[person]
        rng = np.random.default_rng([seed, _STREAM_PHOTOS, int(person), int(k)])
        attrs = sample_attributes(identity, rng)
        _save_jpeg(render_face(identity, attrs, rng), images / name)
        names.append(name)
        labels.append(attrs)
        partition_lines.append(f"{name} {split}")
        identity_lines.append(f"{name} {identity.identity_id}")

    _write_text(root / "list_attr_celeba.txt", _attribute_file_text(names, labels))
    _write_text(root / "list_eval_partition.txt", "\r\n".join(partition_lines) + "\r\n")
    _write_text(root / "identity_CelebA.txt", "\r\n".join(identity_lines) + "\r\n")
    _write_marker(marker_path, {**params, "n_images": total, "complete": True})
    return root


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("ascii"))  # bytes: CRLF stays CRLF on every platform


def _celeba_is_complete(root: Path, marker_path: Path, params: dict, total: int) -> bool:
    marker = _read_marker(marker_path)
    if not marker or not marker.get("complete") or {k: marker.get(k) for k in params} != params:
        return False
    labels = ("list_attr_celeba.txt", "list_eval_partition.txt", "identity_CelebA.txt")
    if not all((root / name).is_file() for name in labels):
        return False
    present = [n for n in os.listdir(root / "img_align_celeba") if _IMAGE_NAME.match(n)]
    return len(present) == total


def _prepare_folder(root: Path, images: Path, marker_path: Path) -> None:
    """Make ``root`` ready for a fresh set: remove our old drawings, never someone's data.

    Without our marker, CelebA-named images or an attribute file mean the folder holds data
    that make_celeba did not write (real CelebA, perhaps): that is an error, not a cache.
    """
    numbered = [n for n in os.listdir(images) if _IMAGE_NAME.match(n)] if images.is_dir() else []
    if _read_marker(marker_path) is None:
        labels = root / "list_attr_celeba.txt"
        if numbered or labels.exists():
            found = f"{len(numbered)} images in {images}" if numbered else str(labels)
            raise FileExistsError(
                f"{root} holds data that make_celeba did not write ({found}, and no "
                f"{marker_path.name}); refusing to overwrite it. Choose an empty folder."
            )
    for name in numbered:
        (images / name).unlink()
    images.mkdir(parents=True, exist_ok=True)
    # Written first (incomplete) so an interrupted run is recognised as ours next time.
    _write_marker(
        marker_path, {"generator": "facetransfer.synthetic.make_celeba", "complete": False}
    )


def make_fotos(
    root, person: str = "paco", n_person: int = 40, n_others: int = 40, seed: int = 0
) -> Path:
    """Write ``root/<person>/`` (photos of one drawn person) and ``root/others/``; return ``root``.

    The person is :func:`person_identity`, never one of :func:`make_celeba`'s identities; the
    others are further never-seen people, two photos each. Photos vary pose, light, expression,
    accessories and background, in CelebA's 178x218 crop geometry. Skips the work when a marker
    from an identical earlier call is there.
    """
    _check_count("n_person", n_person, 1)
    _check_count("n_others", n_others, 0)
    if not person or person in (".", "..", "others") or any(c in person for c in "/\\"):
        raise ValueError(f"person must be a plain folder name other than 'others', got {person!r}")
    root = Path(root)
    marker_path = root / FOTOS_MARKER
    params = {
        "generator": "facetransfer.synthetic.make_fotos",
        "version": GENERATOR_VERSION,
        "person": person,
        "n_person": int(n_person),
        "n_others": int(n_others),
        "seed": int(seed),
    }
    marker = _read_marker(marker_path)
    person_dir, others_dir = root / person, root / "others"
    if marker and marker.get("complete") and {k: marker.get(k) for k in params} == params:
        if (
            len(list(person_dir.glob("*.jpg"))) >= n_person
            and len(list(others_dir.glob("*.jpg"))) >= n_others
        ):
            return root
    person_dir.mkdir(parents=True, exist_ok=True)
    others_dir.mkdir(parents=True, exist_ok=True)

    identity = person_identity(person, seed)
    key = zlib.crc32(person.encode("utf-8"))
    for k in range(n_person):
        rng = np.random.default_rng([seed, _STREAM_PERSON, key, k])
        image = render_face(identity, sample_attributes(identity, rng), rng)
        _save_jpeg(image, person_dir / f"{person}_{k + 1:03d}.jpg")
    strangers = _other_identities((n_others + 1) // 2, seed)
    for k in range(n_others):
        stranger = strangers[k // 2]
        rng = np.random.default_rng([seed, _STREAM_OTHERS, k])
        image = render_face(stranger, sample_attributes(stranger, rng), rng)
        _save_jpeg(image, others_dir / f"other_{k + 1:03d}.jpg")
    _write_marker(marker_path, {**params, "complete": True})
    return root
