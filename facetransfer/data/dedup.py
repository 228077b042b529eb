"""Near-duplicate photos: the same picture resized, re-encoded, lightly edited or slightly cropped.

A split is honest only if no photo sits on both sides of it: a resized copy of a training photo in
the test split is a test the model has already seen, and a photo filed both under the person and
under others teaches it two answers to one question. fotos.split_fotos groups near-duplicates with
this module and splits whole groups.

How two photos are compared, in three steps (a perceptual hash, then a check of the few pairs it
flags; numpy and PIL only):

1. A **ternary difference hash** (dHash) of the grey picture: shrunk to 17x16 cells and blurred,
   each pair of horizontal neighbours gives +1 (right brighter by more than 3 grey levels), -1
   (darker) or 0 (flat). Positions flat in both photos are left out of the comparison, so two
   different photos on the same plain background do not look alike; the distance is the share of
   the remaining positions whose sign differs (0 for copies, about 0.6 for unrelated photos).
2. A crop shifts every cell, so each photo also carries the hashes of 81 **windows** (0, 4 or 8 %
   trimmed from each side). Two photos are candidates when one's whole picture is within
   CANDIDATE_DISTANCE of a window of the other.
3. Each candidate pair is **verified**: starting from its best windows (up to MAX_STARTS), the
   window is refined side by side, in 1 % steps on the coarse hash, then 0.5 % steps on a finer
   33x32-cell hash; and the two must agree in colour (16x16 colour thumbnails, each channel
   standardised, so a brightened copy still agrees). They are near-duplicates when the refined
   distance is at most MAX_DISTANCE and the colours differ by at most MAX_COLOUR_DIFFERENCE
   standard deviations on average.

Measured with this module (docs/bad_input.md has the table): copies of 60 photos under 9 edits
(halved, JPEG quality 30, brightened by 25 levels, cropped 2-7 % on all sides, 6 % on one side, or
a corner crop then halved) were all found, at refined distances up to 0.21 on CelebA's wild
photos, 0.17 on its aligned crops and 0.30 on the drawn photos of facetransfer.demo.synthetic. Among
different photos: 22 pairs found in 3.06 million pairs of the 2,474 wild photos, all of them
true near-duplicates inside CelebA (each looked at); none among 44,850 pairs of aligned crops
(which share their whole geometry, so their hashes come as close as 0.31, but their colours
differ) nor among the drawn photos (hashes as close as 0.15: one template in different colours,
which the colour check sees).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from facetransfer.data.images import ImageReadError, check_rgb_image, read_rgb

log = logging.getLogger(__name__)

COARSE_CELLS = 16  # 16 rows x 16 neighbour pairs = 256 signs per plane
FINE_CELLS = 32
CELL_PIXELS = 4  # each cell is sampled from a 4x4-pixel patch of the blurred, shrunk picture
BLUR_RADIUS = 2.0  # makes the cells change smoothly with a sub-cell shift (crops)
FLAT_LEVELS = 3.0  # a neighbour difference this small (grey levels) counts as flat
MIN_ACTIVE = 8  # fewer non-flat positions than this: the pictures are too plain to compare

WINDOW_TRIMS = (0.0, 0.04, 0.08)  # trimmed from each side for the candidate search
# (81, 4): the left, top, right and bottom trims of each window
WINDOWS = np.array(list(itertools.product(WINDOW_TRIMS, repeat=4)))
MAX_TRIM = 0.25  # refinement never trims more than this from a side
REFINE_STEPS = (0.01, 0.005)
MAX_STARTS = 3  # candidate windows refined in turn (a symmetric face can mislead one start)

CANDIDATE_DISTANCE = 0.35
MAX_DISTANCE = 0.30
MAX_COLOUR_DIFFERENCE = 0.12  # in standard deviations of each colour channel
COLOUR_PREFILTER = 2 * MAX_COLOUR_DIFFERENCE  # before refining: far beyond this, skip the pair
COLOUR_SPREAD_FLOOR = 8.0  # added to each channel's spread so a plain channel is not magnified

THUMBNAIL_SIDE = 192  # longest side of the kept thumbnails (the fine hash needs ~130 px)
READ_MIN_SIDE = 256  # JPEGs are decoded at reduced scale down to this shorter side: fast


@dataclass(eq=False)
class Fingerprint:
    """What the comparison needs of one picture: its hashes and two small thumbnails."""

    whole: np.ndarray  # (2 * words,) uint64: positive then negative sign planes, whole picture
    windows: np.ndarray  # (len(WINDOWS), 2 * words) uint64: the same for each window
    grey: Image.Image  # mode L, longest side <= THUMBNAIL_SIDE
    colour: Image.Image  # mode RGB, the same size


def ternary_dhash(grey: Image.Image, cells: int = COARSE_CELLS) -> np.ndarray:
    """The ternary dHash of a mode-L picture: two packed bit planes (right neighbour brighter,
    darker) of cells x cells positions, as uint64 words."""
    side = CELL_PIXELS
    small = grey.resize(((cells + 1) * side, cells * side), Image.Resampling.BOX)
    blurred = np.asarray(small.filter(ImageFilter.GaussianBlur(BLUR_RADIUS)), dtype=np.float32)
    centres = blurred[side // 2 :: side, side // 2 :: side]
    steps = (centres[:, 1:] - centres[:, :-1]).ravel()
    planes = np.concatenate([np.packbits(steps > FLAT_LEVELS), np.packbits(steps < -FLAT_LEVELS)])
    return planes.view(np.uint64)


def hash_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Share of the positions not flat in both hashes where their signs differ, in [0, 1].

    Broadcasts over leading axes. 1.0 (unknown) when fewer than MIN_ACTIVE positions are active.
    """
    words = a.shape[-1] // 2
    pa, na, pb, nb = a[..., :words], a[..., words:], b[..., :words], b[..., words:]
    differ = np.bitwise_count((pa ^ pb) | (na ^ nb)).sum(axis=-1, dtype=np.int64)
    active = np.bitwise_count(pa | na | pb | nb).sum(axis=-1, dtype=np.int64)
    distance = np.where(active >= MIN_ACTIVE, differ / np.maximum(active, 1), 1.0)
    return float(distance) if distance.ndim == 0 else distance


def _window(image: Image.Image, trims) -> Image.Image:
    """The part of `image` left after trimming these fractions (left, top, right, bottom)."""
    left, top, right, bottom = trims
    width, height = image.size
    box = (
        round(left * width),
        round(top * height),
        max(round(left * width) + 1, round(width - right * width)),
        max(round(top * height) + 1, round(height - bottom * height)),
    )
    return image.crop(box)


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    """`image` with its longest side at most `side` (area-averaged, so no aliasing)."""
    scale = side / max(image.size)
    if scale >= 1:
        return image.copy()
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX)


def fingerprint(image: np.ndarray) -> Fingerprint:
    """The Fingerprint of an RGB uint8 image (H, W, 3)."""
    check_rgb_image(image)
    colour = _shrunk(Image.fromarray(image), THUMBNAIL_SIDE)
    grey = colour.convert("L")
    return Fingerprint(
        whole=ternary_dhash(grey),
        windows=np.stack([ternary_dhash(_window(grey, trims)) for trims in WINDOWS]),
        grey=grey,
        colour=colour,
    )


def fingerprint_file(path: str | os.PathLike) -> Fingerprint:
    """The Fingerprint of a photo file, read upright (EXIF applied); raises ImageReadError."""
    return fingerprint(read_rgb(path, draft_min_side=READ_MIN_SIDE))


def _colour_difference(big: Fingerprint, trims, small: Fingerprint) -> float:
    """Mean absolute difference of 16x16 colour thumbnails, each channel standardised (mean
    removed, divided by its spread) so a brightened or contrast-edited copy still matches."""

    def standardised(picture: Image.Image) -> np.ndarray:
        values = np.asarray(picture.resize((16, 16), Image.Resampling.BOX), dtype=np.float32)
        values = values - values.mean(axis=(0, 1))
        return values / (values.std(axis=(0, 1)) + COLOUR_SPREAD_FLOOR)

    return float(
        np.abs(standardised(_window(big.colour, trims)) - standardised(small.colour)).mean()
    )


# Refinement moves: one side, or two opposite sides together, or all four (a zoom), in or out.
_MOVES = [np.eye(4)[side] for side in range(4)] + [
    np.array([1.0, 0.0, 1.0, 0.0]),
    np.array([0.0, 1.0, 0.0, 1.0]),
    np.ones(4),
]


def _refine(big: Fingerprint, small: Fingerprint, trims) -> tuple[float, np.ndarray]:
    """Move `big`'s window while that brings its hash nearer `small`'s: first on the coarse hash
    in 1 % steps (smooth, so it finds the basin), then on the fine hash in 0.5 % steps.
    Returns the fine distance and the window's trims."""
    trims = np.asarray(trims, dtype=np.float64)
    for cells, step in zip((COARSE_CELLS, FINE_CELLS), REFINE_STEPS, strict=True):
        target = ternary_dhash(small.grey, cells)

        def distance(candidate, cells=cells, target=target) -> float:
            return hash_distance(ternary_dhash(_window(big.grey, candidate), cells), target)

        best = distance(trims)
        improved = True
        while improved:
            improved = False
            for move, sign in itertools.product(_MOVES, (-1.0, 1.0)):
                candidate = np.clip(trims + sign * step * move, 0.0, MAX_TRIM)
                value = distance(candidate)
                if value < best - 1e-9:
                    best, trims, improved = value, candidate, True
    return best, trims


def near_duplicate_distance(a: Fingerprint, b: Fingerprint) -> float:
    """How far apart two pictures are as copies of one photo: the refined fine-hash distance, or
    1.0 when they are not even candidates or their colours differ. At most MAX_DISTANCE means
    near-duplicates."""
    found = _verify(a, b)
    return 1.0 if found is None else found


def is_near_duplicate(a: Fingerprint, b: Fingerprint) -> bool:
    return near_duplicate_distance(a, b) <= MAX_DISTANCE


def _verify(a: Fingerprint, b: Fingerprint) -> float | None:
    """The refined distance when a and b are near-duplicates, else None.

    Either picture may be the cropped one, so both directions are searched: a window of the
    bigger against the whole of the other. Refinement starts from the best candidate windows in
    turn (up to MAX_STARTS: a symmetric face can trap one start in the wrong basin).
    """
    starts = []
    for big, small in ((a, b), (b, a)):
        distances = hash_distance(big.windows, small.whole)
        starts += [(float(distances[w]), big, small, w) for w in np.argsort(distances)[:MAX_STARTS]]
    starts.sort(key=lambda start: start[0])
    for coarse, big, small, window in starts[:MAX_STARTS]:
        if coarse > CANDIDATE_DISTANCE:
            break
        trims = WINDOWS[window]
        if _colour_difference(big, trims, small) > COLOUR_PREFILTER:
            continue
        fine, trims = _refine(big, small, trims)
        if fine <= MAX_DISTANCE and _colour_difference(big, trims, small) <= MAX_COLOUR_DIFFERENCE:
            return fine
    return None


def find_near_duplicates(prints: Sequence[Fingerprint]) -> list[tuple[int, int, float]]:
    """Every near-duplicate pair (i, j, distance) with i < j among `prints`.

    The candidate search is one vectorised pass per picture over all the others' windows; only
    the few candidates it finds are verified.
    """
    n = len(prints)
    if n < 2:
        return []
    wholes = np.stack([p.whole for p in prints])
    windows = np.stack([p.windows for p in prints])
    coarse = np.empty((n, n))  # coarse[i, j]: the window of j nearest the whole of i
    for i in range(n):
        coarse[i] = hash_distance(windows, wholes[i]).min(axis=1)
    candidates = np.triu(np.minimum(coarse, coarse.T) <= CANDIDATE_DISTANCE, k=1)
    pairs = []
    for i, j in zip(*np.nonzero(candidates), strict=True):
        found = _verify(prints[i], prints[j])
        if found is not None:
            pairs.append((int(i), int(j), found))
    return pairs


def group_ids(n: int, pairs: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """Connected groups of 0..n-1 linked by `pairs`, numbered 0.. in order of first member."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        parent[root(i)] = root(j)
    numbers: dict[int, int] = {}
    return np.array([numbers.setdefault(root(i), len(numbers)) for i in range(n)], dtype=np.int64)


@dataclass
class NearDuplicates:
    """The near-duplicate groups of a list of photos."""

    paths: list[Path]
    groups: np.ndarray  # (n,) int: photos with the same number are copies of one photo
    pairs: list[tuple[int, int, float]]  # (i, j, distance) for every pair found
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # each is its own group

    def duplicate_sets(self) -> list[list[Path]]:
        """The groups with more than one photo, as lists of paths."""
        members: dict[int, list[Path]] = {}
        for path, group in zip(self.paths, self.groups.tolist(), strict=True):
            members.setdefault(group, []).append(path)
        return [paths for paths in members.values() if len(paths) > 1]


def near_duplicate_groups(paths: Sequence[str | os.PathLike]) -> NearDuplicates:
    """Read every photo (small: reduced JPEG decoding), fingerprint it and group near-duplicates.

    A photo that cannot be read is its own group and listed in `unreadable`: whoever uses the
    photos later reports it with the reason.
    """
    paths = [Path(p) for p in paths]
    prints: list[Fingerprint] = []
    readable: list[int] = []
    unreadable: list[tuple[Path, str]] = []
    for index, path in enumerate(paths):
        try:
            prints.append(fingerprint_file(path))
            readable.append(index)
        except ImageReadError as error:
            unreadable.append((path, error.reason))
    found = [(readable[i], readable[j], d) for i, j, d in find_near_duplicates(prints)]
    result = NearDuplicates(paths, group_ids(len(paths), found), found, unreadable)
    for copies in result.duplicate_sets():
        log.info("near-duplicates, kept together: %s", ", ".join(map(str, copies)))
    return result
