"""The requirement files' platform markers: each of the three platforms gets one TensorFlow."""

from __future__ import annotations

import importlib.util

from shared_data import REPO as PROJECT_ROOT

spec = importlib.util.spec_from_file_location("check", PROJECT_ROOT / "tools/check_requirements.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def test_each_platform_gets_exactly_one_tensorflow_and_every_other_pin():
    requirements = check.pinned([PROJECT_ROOT / "requirements-dev.txt"])
    names = {}
    for platform, spec_ in check.PLATFORMS.items():
        chosen = check.for_platform(requirements, spec_["env"])
        names[platform] = {r.name for r in chosen}
        assert all(str(r.specifier).startswith("==") for r in chosen), "every pin is exact"
    assert "tensorflow-cpu" in names["Linux x86_64"] and "tensorflow" not in names["Linux x86_64"]
    assert "tensorflow-cpu" in names["Windows amd64"]
    assert "tensorflow" in names["macOS arm64"] and "tensorflow-cpu" not in names["macOS arm64"]
    assert names["Linux x86_64"] - {"tensorflow-cpu"} == names["macOS arm64"] - {"tensorflow"}
