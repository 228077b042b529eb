"""Drawn identities: what stays the same across one person's photos (skin, face shape, eyes,
hair, sex, habits), and the CelebA labels of each of their photos."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from facetransfer.data.labels import ATTRIBUTE_NAMES
from facetransfer.demo.palette import (
    CELEBA_POSITIVE_RATES,
    DYED_SHADES,
    EYE_RGB,
    HAIR_COLOUR_ATTRIBUTES,
    HAIR_COLOURS,
    HAIR_NEIGHBOURS,
    HAIR_RGB,
    PALE_SKIN,
    RATES_BY_SEX,
    RED_SHADES,
    SKIN_TONES,
    to_rgb,
)

IMAGE_NAME = re.compile(r"^\d{6}\.jpg$")
# Independent random streams, so that e.g. adding identities does not change anyone's photos.
_STREAM_IDENTITIES, STREAM_PHOTOS, STREAM_ORDER, STREAM_PERSON, STREAM_OTHERS = range(5)


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
    female_rate, male_rate = RATES_BY_SEX[name]
    return male_rate if male else female_rate


def _skin_tone(rng: np.random.Generator, pale: bool) -> tuple[int, int, int]:
    if pale:
        base = np.array(PALE_SKIN, dtype=np.float64)
    else:
        # Lighter tones more often, as in CelebA; a continuous position along the tone scale.
        position = rng.beta(1.3, 2.4) * (len(SKIN_TONES) - 1)
        low = int(position)
        high = min(low + 1, len(SKIN_TONES) - 1)
        base = SKIN_TONES[low] + (SKIN_TONES[high] - SKIN_TONES[low]) * (position - low)
    base = base + rng.normal(0.0, 4.0, 3)
    return to_rgb(base)


def _hair_colour(rng: np.random.Generator, male: bool, young: bool) -> str:
    # Gray hair only on older people (CelebA: 23% of older men, 7.5% of older women).
    if not young and rng.random() < (0.23 if male else 0.075):
        return "gray"
    # Order of HAIR_COLOURS: black, brown, blond, gray (drawn above), red (none of CelebA's four).
    weights = (0.42, 0.2, 0.03, 0.0, 0.35) if male else (0.24, 0.26, 0.27, 0.0, 0.23)
    return _pick(rng, HAIR_COLOURS, weights)


def _hair_rgb(rng: np.random.Generator, colour: str) -> tuple[int, int, int]:
    if colour == "red":
        base = _pick(rng, DYED_SHADES) if rng.random() < 0.15 else _pick(rng, RED_SHADES)
    else:
        base = HAIR_RGB[colour]
    return to_rgb(np.array(base, dtype=np.float64) * rng.uniform(0.9, 1.1))


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
        eye_rgb=_pick(rng, EYE_RGB),
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
    return to_rgb((r * 0.85 + 10, g * 0.68, b * 0.7))


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
    rng = np.random.default_rng([seed, STREAM_PERSON, key])
    return random_identity(rng, 10_000_000 + key % 1_000_000)


def other_identities(n: int, seed: int) -> list[FaceIdentity]:
    rng = np.random.default_rng([seed, STREAM_OTHERS])
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
        colour = HAIR_NEIGHBOURS[colour][int(u[1] * len(HAIR_NEIGHBOURS[colour]))]
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
