"""A base ready to describe faces: detect, align to the base's crop, one descriptor per face.
Its card (modeling.card) gives the crop geometry and the calibrated distances."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from facetransfer.config import MIN_FACE_CONFIDENCE, NAMED_BASES
from facetransfer.data.cache import load_square
from facetransfer.data.photo_faces import PhotoFaces, decode, photo_faces, read_photo, whole
from facetransfer.modeling import networks
from facetransfer.modeling.bases import load_base
from facetransfer.modeling.card import BaseRef, ModelCard
from facetransfer.modeling.predict import as_graph, prepare_face


@dataclass
class FaceEmbedder:
    """A base ready to describe faces: its descriptor network and its card (crop geometry,
    input size and crop, calibrated distances); `base` is its name ("dlib") or its file."""

    base: str
    extractor: keras.Model
    card: ModelCard
    path: Path | None = None  # the base's file (None: a named base built in memory)
    graph: object = None  # the extractor as one TensorFlow graph, made on first use

    @classmethod
    def load(cls, base="dlib") -> FaceEmbedder:
        model, card, path = load_base(base)
        extractor = keras.Model(model.inputs[0], networks.base_features(model))
        return cls(str(base), extractor, card, path)

    @property
    def geometry(self) -> str:
        return self.card.geometry

    @property
    def size(self) -> int:
        return int(self.extractor.input_shape[1])

    @property
    def crop(self) -> str:
        return self.card.crop

    @property
    def ref(self) -> BaseRef:
        """What a gallery records of this base: its name or file, and its weights' digest."""
        named = self.base if self.base in NAMED_BASES else None
        where = None if self.path is None else str(Path(self.path).resolve())
        return BaseRef(self.card.weights_sha256, named, where)

    def describe(self, crops: list[np.ndarray]) -> np.ndarray:
        """Descriptors of aligned face crops in this base's geometry."""
        if not crops:
            return np.zeros((0, self.extractor.output_shape[-1]), np.float32)
        batch = np.stack([prepare_face(c, self.size, self.crop) for c in crops])
        if self.graph is None:
            self.graph = as_graph(self.extractor)
        if len(batch) > 64:
            return self.extractor.predict(batch, batch_size=64, verbose=0).astype(np.float32)
        return np.asarray(self.graph(batch.astype(np.float32)), dtype=np.float32)

    def describe_files(self, crop_paths) -> np.ndarray:
        """Descriptors of aligned crop files (CelebA strangers through the intake)."""
        return self.describe([load_square(p, self.size, self.crop) for p in crop_paths])

    def faces(self, photo, min_face_confidence: float = MIN_FACE_CONFIDENCE):
        """Every face in a photo (path or RGB array), largest first: (boxes, descriptors,
        crops). Raises ImageReadError for an unreadable photo."""
        _, boxes, vectors, crops = self.detect_and_describe(photo, min_face_confidence)
        return boxes, vectors, crops

    def describe_each(self, crops: list[np.ndarray]) -> np.ndarray:
        """Descriptors of crops described one at a time: in a batch, the other faces move a
        descriptor in its 7th digit, and a face must come out the same from its photo, from an
        index, or from a shard of one (batches of one cost 15 ms a face against 11 ms)."""
        if not crops:
            return self.describe([])
        return np.concatenate([self.describe([crop]) for crop in crops])

    def photo_faces(self, photo, min_face_confidence: float = MIN_FACE_CONFIDENCE) -> PhotoFaces:
        """Every face of a photo (a path, decoded at the scale detection needs, or an RGB
        array) detected and aligned to this base's crop (data.photo_faces)."""
        if isinstance(photo, np.ndarray):
            return photo_faces(
                whole(read_photo(photo)), geometry=self.geometry, min_confidence=min_face_confidence
            )
        return photo_faces(
            decode(photo), geometry=self.geometry, min_confidence=min_face_confidence, path=photo
        )

    def detect_and_describe(self, photo, min_face_confidence: float = MIN_FACE_CONFIDENCE):
        """(detections, boxes, descriptors, crops) of every face in a photo, largest first."""
        found = self.photo_faces(photo, min_face_confidence)
        boxes = [list(map(int, face.box)) for face in found.faces]
        return found.faces, boxes, self.describe_each(found.crops), found.crops

    def distance_for(self, rate: float) -> float:
        """The distance that lets `rate` of pairs of different people through (the card's
        calibration, interpolated between its rates; a rate outside them is refused)."""
        return self.card.distance_for(rate)
