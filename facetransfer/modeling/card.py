"""The model card: one typed, versioned record beside every saved base, person model and gallery.

It says what the thing is (`kind`), the crop geometry and size it expects, what it learned from,
its calibrated distances, its decision rule with the threshold's meaning (a *distance*: lower is
the same person; a *probability*: higher is the person), and, for a person model or a gallery, the
base it stands on, identified by the content of its weights so that a copied or moved base still
matches and a different one is refused.

This is the only module that reads a sidecar's JSON. Sidecars written before the card (no
`schema_version`) are read and upgraded in memory; the next save writes the new form. Fields the
card does not type (a training run's metric, the attribute names, a test report) travel in
`extra`, written at the top level as before.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from facetransfer.errors import InputError, UsageError

SCHEMA_VERSION = 1
KINDS = ("base", "person", "gallery")
RULES = {
    "distance": "a face is accepted when its distance is at most the threshold (lower: more alike)",
    "probability": "a face is accepted when its probability is at least the threshold",
}
GEOMETRIES = ("celeba", "dlib_chip")
CROPS = ("full", "face")


class CardError(InputError):
    """A sidecar that is missing, not JSON, or holds values of the wrong kind; names the file."""


@dataclass(frozen=True)
class Decision:
    """How a model decides: `rule` (distance or probability), its `threshold`, and how that was
    chosen (`target_false_accept`: the share of other people it lets through)."""

    rule: str
    threshold: float
    target_false_accept: float | None = None
    chosen_on: str | None = None

    @property
    def meaning(self) -> str:
        return RULES[self.rule]


@dataclass(frozen=True)
class BaseRef:
    """The base a person model or gallery stands on: its name when it is a named base ("dlib"),
    where it was, and the SHA-256 of its weights (what identifies it wherever it is)."""

    weights_sha256: str
    name: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class ModelCard:
    kind: str
    geometry: str = "celeba"
    image_size: int | None = None
    crop: str = "full"
    arch: str | None = None
    person: str | None = None
    learned_from: dict | None = None
    distance_thresholds: dict[str, float] = field(default_factory=dict)
    decision: Decision | None = None
    base: BaseRef | None = None
    weights_sha256: str | None = None  # a base's own weights (None: not recorded yet)
    extra: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def with_extra(self, **values) -> ModelCard:
        return replace(self, extra={**self.extra, **values})

    def to_dict(self) -> dict:
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for name in ("decision", "base"):
            if record[name] is not None:
                record[name] = asdict(record[name])
        if self.decision is not None:
            record["decision"]["meaning"] = self.decision.meaning
        return {**self.extra, **record}

    # -- calibrated distances --------------------------------------------------------------

    def calibrated_range(self) -> tuple[float, float]:
        rates = sorted(float(r) for r in self.distance_thresholds)
        return rates[0], rates[-1]

    def distance_for(self, rate: float) -> float:
        """The distance that lets `rate` of pairs of different people through: a calibrated
        rate's own, or interpolated between the two calibrated rates around it (linear in the
        logarithm of the rate, along which these distances move almost in a straight line).
        A rate outside the calibrated range is refused, never rounded to the nearest."""
        if not self.distance_thresholds:
            raise UsageError(
                "this base has no calibrated distances: use the dlib base, or a student "
                "distilled from it (train-attributes --teacher dlib)"
            )
        table = sorted((float(r), float(d)) for r, d in self.distance_thresholds.items())
        low, high = table[0][0], table[-1][0]
        if not (low <= rate <= high):
            raise UsageError(
                f"false-accept target {rate:g} is outside the base's calibrated range "
                f"{low:g} to {high:g}"
            )
        for (r0, d0), (r1, d1) in zip(table, table[1:], strict=False):
            if r0 <= rate <= r1:
                if r1 == r0:
                    return d0
                t = (math.log(rate) - math.log(r0)) / (math.log(r1) - math.log(r0))
                return d0 + t * (d1 - d0)
        return table[0][1]  # a single calibrated rate, asked for exactly


def weights_sha256(model) -> str:
    """SHA-256 over a Keras model's weights in order: the same for the same network wherever its
    file lies or whatever it is called, different as soon as one weight differs."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(np.asarray(weight.numpy(), dtype=np.float32))
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def sidecar_path(path) -> Path:
    """`name.json` beside `name.h5` / `name.keras`; a gallery's card is `gallery.json` itself."""
    path = Path(path)
    return path if path.suffix == ".json" else path.with_suffix(".json")


def _float(value, what: str, path: Path) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CardError(f"{path}: {what} is {value!r}, not a number") from None
    if not math.isfinite(number):
        raise CardError(f"{path}: {what} is {value!r}, not a finite number")
    return number


def _kind_of(record: dict) -> str:
    if "kind" in record:
        return record["kind"]
    if "people" in record:
        return "gallery"
    return "person" if "threshold" in record and "person" in record else "base"


def _upgrade(record: dict) -> dict:
    """A sidecar as facetransfer wrote it before the card: the same facts under the old keys."""
    record = dict(record)
    kind = _kind_of(record)
    record["kind"] = kind
    if kind == "person" and "decision" not in record and "threshold" in record:
        record["decision"] = {
            "rule": "probability",
            "threshold": record.pop("threshold"),
            "target_false_accept": record.get("target_false_accept"),
            "chosen_on": record.pop("threshold_chosen_on", None),
        }
    if kind == "person" and isinstance(record.get("base"), str):
        record["base"] = {"weights_sha256": "", "path": record["base"], "name": None}
    if kind == "person" and "base_learned_from" in record:
        record.setdefault("extra_base_learned_from", record.pop("base_learned_from"))
    if kind == "gallery" and isinstance(record.get("base"), str):
        old = record["base"]
        named = Path(old).stem if Path(old).stem in ("dlib",) else None
        record["base"] = {"weights_sha256": "", "path": old, "name": named}
    record["schema_version"] = SCHEMA_VERSION
    return record


def card_from_dict(record: dict, path: Path | str = "<card>") -> ModelCard:
    """A validated card from a sidecar's record (upgraded first when it predates the card)."""
    path = Path(path)
    if not isinstance(record, dict):
        raise CardError(f"{path}: holds {type(record).__name__}, not a JSON object")
    version = record.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise CardError(
            f"{path}: card schema version {version!r}; this facetransfer reads up to "
            f"{SCHEMA_VERSION} (upgrade facetransfer)"
        )
    if version < SCHEMA_VERSION:
        record = _upgrade(record)
    known = {f.name for f in fields(ModelCard)} - {"extra"}
    values = {k: v for k, v in record.items() if k in known}
    extra = {k: v for k, v in record.items() if k not in known and k != "meaning"}
    if "extra_base_learned_from" in extra:
        extra["base_learned_from"] = extra.pop("extra_base_learned_from")
    kind = values.get("kind")
    if kind not in KINDS:
        raise CardError(f"{path}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if values.get("geometry", "celeba") not in GEOMETRIES:
        raise CardError(f"{path}: geometry {values['geometry']!r} is not one of {GEOMETRIES}")
    if values.get("crop", "full") not in CROPS:
        raise CardError(f"{path}: crop {values['crop']!r} is not one of {CROPS}")
    if values.get("image_size") is not None:
        size = _float(values["image_size"], "image_size", path)
        if size < 8 or size != int(size):
            raise CardError(f"{path}: image_size {values['image_size']!r} is not a pixel size")
        values["image_size"] = int(size)
    thresholds = values.get("distance_thresholds") or {}
    if not isinstance(thresholds, dict):
        raise CardError(f"{path}: distance_thresholds is not a table of rate: distance")
    values["distance_thresholds"] = {
        str(k): _float(v, f"distance_thresholds[{k}]", path) for k, v in thresholds.items()
    }
    for rate in values["distance_thresholds"]:
        _float(rate, "a calibrated rate", path)
    if values.get("decision") is not None:
        decision = values["decision"]
        if not isinstance(decision, dict) or decision.get("rule") not in RULES:
            raise CardError(f"{path}: decision has no rule 'distance' or 'probability'")
        threshold = _float(decision.get("threshold"), "the decision's threshold", path)
        if decision["rule"] == "probability" and not 0.0 <= threshold <= 1.0:
            raise CardError(f"{path}: probability threshold {threshold} is outside 0 to 1")
        rate = decision.get("target_false_accept")
        values["decision"] = Decision(
            decision["rule"],
            threshold,
            None if rate is None else _float(rate, "target_false_accept", path),
            decision.get("chosen_on"),
        )
    if kind == "person" and values.get("decision") is None:
        raise CardError(
            f"{path}: a person model's card has no threshold; person models are saved with one "
            "by `facetransfer transfer`"
        )
    if values.get("base") is not None:
        base = values["base"]
        if not isinstance(base, dict) or "weights_sha256" not in base:
            raise CardError(f"{path}: base is not a record with weights_sha256")
        values["base"] = BaseRef(str(base["weights_sha256"]), base.get("name"), base.get("path"))
    if values.get("learned_from") is not None and not isinstance(values["learned_from"], dict):
        raise CardError(f"{path}: learned_from is not a record")
    return ModelCard(**values, extra=extra)


def read_card(path, *, required: bool = True) -> ModelCard | None:
    """The card beside a model file (`name.json`), or a gallery's `gallery.json`. A missing
    sidecar raises CardError when `required`, else gives None; a damaged one always raises."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        if required:
            raise CardError(f"{sidecar}: no model card (the .json saved beside the model)")
        return None
    try:
        record = json.loads(sidecar.read_text())
    except UnicodeDecodeError:
        raise CardError(f"{sidecar}: not a text file, so not a model card") from None
    except json.JSONDecodeError as error:
        raise CardError(f"{sidecar}: damaged JSON ({error.msg} at line {error.lineno})") from None
    except OSError as error:
        raise CardError(f"{sidecar}: cannot be read ({error.strerror})") from None
    return card_from_dict(record, sidecar)


def write_json_atomically(path, data: dict) -> Path:
    """Write `data` as JSON to a temporary name beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w") as handle:
        handle.write(json.dumps(data, indent=2, default=float))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


def write_card(path, card: ModelCard | dict) -> Path:
    """The card beside `path` (or `path` itself when it is a .json), validated, written
    atomically. A dict is read as a sidecar record first."""
    sidecar = sidecar_path(path)
    if isinstance(card, dict):
        card = card_from_dict(card, sidecar)
    return write_json_atomically(sidecar, card.to_dict())
