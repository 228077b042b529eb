"""facetransfer: find, describe, compare and name faces; and the seed's path, a CelebA attribute
CNN transferred to recognise a person from a few photos.

    import facetransfer as ft
    ft.detect("photo.jpg")                  # boxes, landmarks, confidence
    ft.represent("photo.jpg")               # a descriptor per face (dlib's base by default)
    ft.verify("a.jpg", "b.jpg")             # {"distance", "max_distance", "same", ...}
    g = ft.enrol("family/", gallery="g")    # family/<name>/*.jpg -> a gallery folder
    ft.identify("new.jpg", g)               # each face named, or "unknown"
    ft.find("ana.jpg", "library/")          # the photos of the same person, closest first
    ft.index("library/", "library.sqlite")  # every face described once, into an SQLite index
    ft.find(None, index="library.sqlite", person="ana", gallery="g")   # answered from it
    ft.cluster(index="library.sqlite", names={0: "ana"})  # groups, kept and named in the index
    ft.analyze("photo.jpg")                 # CelebA's 40 attributes per face

A photo is a path, an RGB array, or (where a function says so) a folder. The notebooks' calls:
`load_celeba`, `load_attribute_data`, `train_attribute_model`, `evaluate_attribute_model`,
`train_person_model`, `load_person_model`, `predict_image`, `export_person_model`.

Everything is imported on first use, so `import facetransfer` (and the CLI's `--help`) does not
wait for TensorFlow. Errors are `facetransfer.errors` exceptions (InputError, NoFaceError,
UsageError), each with the exit code the CLI returns for it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_FACADE = {
    # the face tools (facetransfer.api)
    "detect": "facetransfer.api",
    "represent": "facetransfer.api",
    "verify": "facetransfer.api",
    "identify": "facetransfer.api",
    "find": "facetransfer.api",
    "analyze": "facetransfer.api",
    "enrol": "facetransfer.api",
    "index": "facetransfer.api",
    "cluster": "facetransfer.api",
    "make_report": "facetransfer.api",
    "load_gallery": "facetransfer.modeling.gallery",
    # settings
    "Paths": "facetransfer.config",
    "PersonSettings": "facetransfer.config",
    # the notebooks' training calls
    "load_celeba": "facetransfer.data.celeba",
    "resolve_celeba": "facetransfer.demo.sources",
    "resolve_fotos": "facetransfer.demo.sources",
    "load_attribute_data": "facetransfer.modeling.attributes",
    "train_attribute_model": "facetransfer.modeling.attributes",
    "evaluate_attribute_model": "facetransfer.modeling.attribute_evaluation",
    "train_person_model": "facetransfer.modeling.person",
    "load_person_model": "facetransfer.modeling.predict",
    "predict_image": "facetransfer.modeling.predict",
    "export_person_model": "facetransfer.modeling.export",
    "read_card": "facetransfer.modeling.card",
}

__all__ = sorted(_FACADE)


def __getattr__(name: str):
    if name not in _FACADE:
        raise AttributeError(f"module 'facetransfer' has no attribute {name!r}")
    return getattr(importlib.import_module(_FACADE[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_FACADE])
