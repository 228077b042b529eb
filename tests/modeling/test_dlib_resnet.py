"""dlib's face ResNet in Keras: the reader, the network's size, its descriptors against dlib's own,
and a person model on it that loads with plain Keras in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from facetransfer.modeling import dlib_format, dlib_resnet
from facetransfer.modeling.bases import dlib_base
from facetransfer.modeling.heads import build_person_model

pytest.importorskip("face_recognition_models")
DLIB_FILE_PARAMS = 5_614_592  # what dlib's file holds
AFFINE_PARAMS = 7_104  # 29 affine layers (scale + shift per channel), folded into their convs


@pytest.fixture(scope="module")
def model():
    return dlib_resnet.build_dlib_resnet()


def test_the_file_holds_dlibs_network(model):
    network = dlib_format.read_network(dlib_resnet.weights_path())
    assert len(network.layers) == 108 and network.input_size == (150, 150)
    assert network.input_means == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    held = sum(
        v.size for layer in network.layers for v in layer.fields.values() if hasattr(v, "size")
    )
    assert held == DLIB_FILE_PARAMS
    assert model.count_params() == DLIB_FILE_PARAMS - AFFINE_PARAMS
    assert model.output_shape == (None, 128) and model.input_shape == (None, 150, 150, 3)


def test_a_truncated_or_foreign_file_is_refused_clearly(tmp_path):
    data = dlib_resnet.weights_path().read_bytes()
    cut = tmp_path / "cut.dat"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(dlib_format.DlibFormatError, match="cut.dat: cut short"):
        dlib_format.read_network(cut)
    foreign = tmp_path / "photo.dat"
    foreign.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(dlib_format.DlibFormatError, match="photo.dat: not a dlib network"):
        dlib_format.read_network(foreign)
    predictor = dlib_resnet.weights_path().with_name("shape_predictor_5_face_landmarks.dat")
    with pytest.raises(dlib_format.DlibFormatError, match="not a dlib"):
        dlib_format.read_network(predictor)


def test_the_keras_descriptor_is_dlibs(model):
    dlib = pytest.importorskip("dlib", reason="dlib-bin (requirements-dev.txt) is the reference")
    net = dlib.face_recognition_model_v1(str(dlib_resnet.weights_path()))
    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    # a smooth chip too: random noise alone would not exercise the network like a face does
    ramp = np.linspace(0, 255, 150, dtype=np.float32)
    chips = np.concatenate([chips, np.stack([np.add.outer(ramp, ramp) / 2] * 3, -1)[None]])
    chips = chips.astype(np.uint8)
    theirs = np.array([np.asarray(net.compute_face_descriptor(c)) for c in chips])
    ours = keras.ops.convert_to_numpy(model(chips.astype("float32"), training=False))
    assert np.abs(ours - theirs).max() <= 1e-4


def test_a_person_model_on_dlib_loads_with_plain_keras(tmp_path):
    base = keras.models.load_model(dlib_base(tmp_path), compile=False)
    person = build_person_model(base, "embedding")
    path = tmp_path / "ana.keras"
    person.save(path)
    code = (
        "import sys, numpy as np, keras; m = keras.models.load_model(sys.argv[1]); "
        "print(m(np.zeros((1, 150, 150, 3), 'float32')).shape)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(1, 1)" in done.stdout


def test_an_older_dlib_sidecar_is_brought_up_to_date(tmp_path):
    import json

    from facetransfer.modeling import bases

    (tmp_path / "dlib.h5").write_bytes(b"weights written by an older version")
    (tmp_path / "dlib.json").write_text(json.dumps({"arch": "dlib", "note": "kept"}))
    path = bases.dlib_base(tmp_path)
    record = json.loads((tmp_path / "dlib.json").read_text())
    assert path == tmp_path / "dlib.h5" and record["note"] == "kept"
    assert record["distance_thresholds"] == bases.dlib_card("").distance_thresholds
    assert record["schema_version"] == 1 and record["geometry"] == "dlib_chip"
    assert record["weights_sha256"] == bases.dlib_weights_sha256()
    assert (tmp_path / "dlib.h5").read_bytes() == b"weights written by an older version"
