"""The drawn faces' palette: CelebA's attribute rates (overall and by sex), and the colours
of skin, hair, eyes, make-up, hats, clothes and frames."""

from __future__ import annotations

import numpy as np

from facetransfer.config import CELEBA_CROP_SIZE
from facetransfer.data.labels import ATTRIBUTE_NAMES

CROP_WIDTH, CROP_HEIGHT = CELEBA_CROP_SIZE
JPEG_QUALITY = 90
SCALE = 2  # drawn at twice the size, then halved: cheap anti-aliasing
MARGIN = 30  # canvas border (crop pixels) so a turned, shifted, shrunk face never shows an edge

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
RATES_BY_SEX: dict[str, tuple[float, float]] = {
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
HAIR_RGB = {
    "black": (32, 27, 27),
    "brown": (104, 67, 42),
    "blond": (224, 194, 130),
    "gray": (176, 176, 178),
    "red": (160, 68, 36),
}
RED_SHADES = ((150, 60, 34), (190, 88, 40), (128, 46, 30), (205, 105, 60))
DYED_SHADES = ((215, 105, 170), (70, 95, 190), (125, 65, 165))
BROW_RGB = {
    "black": (28, 22, 22),
    "brown": (66, 42, 28),
    "blond": (140, 105, 62),
    "gray": (105, 105, 108),
    "red": (112, 50, 28),
}
# Neighbouring colours a photo may show instead (dye, light): still never two colours at once.
HAIR_NEIGHBOURS = {
    "black": ("brown",),
    "brown": ("black", "blond"),
    "blond": ("brown",),
    "gray": ("gray",),
    "red": ("brown",),
}
SKIN_TONES = np.array(
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
PALE_SKIN = (250, 234, 225)
EYE_RGB = (
    (88, 56, 32),
    (52, 36, 26),
    (72, 112, 160),
    (82, 120, 82),
    (122, 96, 52),
    (112, 122, 132),
)
# Deep, saturated shades, far from any natural lip colour so that the label is visible.
LIPSTICKS = ((192, 14, 40), (226, 48, 120), (122, 18, 56), (232, 38, 30))
EYESHADOWS = ((120, 70, 140), (70, 90, 150), (110, 70, 50), (60, 55, 60), (170, 90, 110))
HATS = (
    (190, 35, 40),
    (30, 45, 110),
    (40, 110, 60),
    (25, 25, 28),
    (200, 180, 140),
    (235, 235, 230),
    (110, 50, 130),
    (230, 120, 30),
)
CLOTHES = (
    (40, 50, 80),
    (120, 30, 40),
    (60, 60, 64),
    (235, 235, 232),
    (30, 80, 60),
    (150, 120, 90),
    (20, 20, 24),
    (90, 130, 170),
)
TIES = ((150, 25, 35), (30, 50, 120), (70, 70, 75), (120, 90, 30), (60, 100, 60))
METALS = ((230, 190, 60), (215, 215, 225), (245, 240, 225))  # gold, silver, pearl
FRAMES = ((20, 18, 18), (55, 35, 22), (25, 30, 60), (70, 20, 25))


def to_rgb(values) -> tuple[int, int, int]:
    r, g, b = (int(round(min(255.0, max(0.0, float(v))))) for v in values)
    return (r, g, b)


def shaded(rgb, factor: float, alpha: int | None = None) -> tuple[int, ...]:
    """``rgb`` scaled by ``factor`` (darker below 1), optionally with an alpha for blending."""
    out = to_rgb(np.asarray(rgb, dtype=np.float64) * factor)
    return out if alpha is None else (*out, alpha)
