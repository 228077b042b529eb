"""One person's model from a photos folder and a base, in one call: resolve the photos (yours,
or the drawn demo person), decide whether faces are aligned, take in the photos and CelebA
strangers through the base's crop, transfer, save. The CLI's `transfer` and notebook 03 call it."""

from __future__ import annotations

import logging
from pathlib import Path

from facetransfer.config import Paths, PersonSettings
from facetransfer.data.celeba import load_celeba
from facetransfer.data.fotos import describe_split
from facetransfer.data.intake import PersonData, person_photos
from facetransfer.demo.sources import resolve_celeba, resolve_fotos
from facetransfer.modeling.bases import drawn_faces_warning, resolve_base
from facetransfer.modeling.card import read_card
from facetransfer.modeling.checkpoints import load_model_file
from facetransfer.modeling.fit import run_dir
from facetransfer.modeling.transfer import PersonResult, transfer

log = logging.getLogger(__name__)


def train_person_model(
    fotos,
    base,
    settings: PersonSettings | None = None,
    *,
    paths: Paths | None = None,
    out=None,
    celeba_dir=None,
    logs_dir=None,
    verbose=0,
    progress: bool = True,
) -> tuple[PersonResult, PersonData, object]:
    """A saved person model (`out`, default models/<person>.h5) for the person of `fotos`
    (a folder holding <person>/; None: fotos/ under the paths' root, else a drawn person) on
    `base` ("dlib" or a base file). Strangers for the threshold come from CelebA when it is
    there (`celeba_dir`, or data/celeba); a calibrated base (dlib) needs nobody else. TensorBoard
    runs go to `logs_dir` (default: a new run under logs/transfer/<person>/). Returns
    (PersonResult, PersonData, the model) as `transfer` does."""
    paths = paths or Paths()
    settings = settings or PersonSettings()
    base = resolve_base(base, paths.models)
    load_model_file(base, expect="attributes")  # fail early on a wrong file
    card = read_card(base, required=False)
    geometry = card.geometry if card else "celeba"
    source = resolve_fotos(fotos, settings.person, paths, settings.seed)
    log.info("photos: %s; base: %s (%s crops)", source, base, geometry)
    if source.kind != "synthetic":
        warning = drawn_faces_warning(card.learned_from if card else None, f"base {base}")
        if warning:
            log.warning(warning)
    celeba = None
    if celeba_dir or paths.celeba.exists() or source.kind == "synthetic":
        found = resolve_celeba(celeba_dir, paths, settings.synthetic_size, settings.seed)
        celeba = load_celeba(found.root, seed=settings.seed)
    out = Path(out or paths.models / f"{settings.person}.h5")
    # Drawn photos are CelebA crops already: aligned again only for a base of another geometry.
    drawn_as_is = source.kind == "synthetic" and geometry == "celeba"
    align = (not drawn_as_is) if settings.align == "auto" else settings.align == "yes"
    frame, strangers = person_photos(
        source.root,
        settings.person,
        celeba,
        aligned_dir=paths.data / "aligned",
        geometry=geometry,
        align=align,
        negatives=settings.negatives,
        strangers=settings.strangers,
        seed=settings.seed,
        manifest=out.with_suffix(".split.csv"),
        # a base with calibrated distances (dlib) can do with the person's photos alone
        need_others=not (card and card.distance_thresholds),
    )
    log.info("split:\n%s", describe_split(frame, settings.person).to_string())
    if not (frame["label"] == 0).any():
        log.info("no one else to learn from: the base's calibrated distance decides")
    if strangers is not None:
        log.info("threshold chosen on %d CelebA strangers", len(strangers))
    return transfer(
        base,
        frame,
        out=out,
        logs_dir=logs_dir or run_dir(paths.logs, "transfer", settings.person),
        cache_dir=paths.cache,
        settings=settings,
        align=align,
        strangers=strangers,
        verbose=verbose,
        progress=progress,
    )
