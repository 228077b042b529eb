"""facetransfer: a CelebA attribute CNN, transferred to recognise a person from a few photos.

The flow, one stage per sub-package (docs/architecture.md draws it):

    data/      CelebA's files, photo reading, face detection + alignment, caches, tf.data
    demo/      the embedded default: drawn CelebA-format faces and a drawn person
    modeling/  networks, fit, checkpoints, attribute training, transfer, predict, export
    report/    evaluation beside baselines, figures, Grad-CAM, TensorBoard

The calls a notebook or a user needs most are re-exported here:

    from facetransfer import load_celeba, load_attribute_data, train_attribute_model
    from facetransfer import transfer, load_person_model, predict_photo

They are imported on first use, so `import facetransfer` (and the CLI's `--help`) does not wait
for TensorFlow.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_FACADE = {
    "Paths": "facetransfer.config",
    "load_celeba": "facetransfer.data.celeba",
    "split_fotos": "facetransfer.data.fotos",
    "align_photos": "facetransfer.data.intake",
    "resolve_celeba": "facetransfer.demo.sources",
    "resolve_fotos": "facetransfer.demo.sources",
    "load_attribute_data": "facetransfer.modeling.attributes",
    "train_attribute_model": "facetransfer.modeling.attributes",
    "evaluate_attribute_model": "facetransfer.modeling.attribute_evaluation",
    "load_model_file": "facetransfer.modeling.checkpoints",
    "transfer": "facetransfer.modeling.transfer",
    "load_person_model": "facetransfer.modeling.predict",
    "predict_photo": "facetransfer.modeling.predict",
    "export_person_model": "facetransfer.modeling.export",
}

__all__ = sorted(_FACADE)


def __getattr__(name: str):
    if name not in _FACADE:
        raise AttributeError(f"module 'facetransfer' has no attribute {name!r}")
    return getattr(importlib.import_module(_FACADE[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_FACADE])
