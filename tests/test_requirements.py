"""tools/check_requirements.py: the platform markers (each platform gets one TensorFlow), and its
exit codes against registries made here (a local index served on 127.0.0.1, a port nobody listens
on, a pip that fails), with pip's own settings pointed at them: no network is used."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shlex
import socket
import sys
import threading
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "check_requirements", REPO / "tools/check_requirements.py"
)
check = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = check  # its dataclasses look their module up
spec.loader.exec_module(check)


def test_each_platform_gets_exactly_one_tensorflow_and_every_other_pin():
    requirements = check.pinned([REPO / "requirements-dev.txt"])
    names = {}
    for platform, spec_ in check.PLATFORMS.items():
        chosen = check.for_platform(requirements, spec_["env"])
        names[platform] = {r.name for r in chosen}
        assert all(str(r.specifier).startswith("==") for r in chosen), "every pin is exact"
    assert "tensorflow-cpu" in names["Linux x86_64"] and "tensorflow" not in names["Linux x86_64"]
    assert "tensorflow-cpu" in names["Windows amd64"]
    assert "tensorflow" in names["macOS arm64"] and "tensorflow-cpu" not in names["macOS arm64"]
    assert names["Linux x86_64"] - {"tensorflow-cpu"} == names["macOS arm64"] - {"tensorflow"}


def test_the_readme_promises_the_pythons_the_check_resolves():
    said = re.search(r"needs only Python ([\d.]+) to ([\d.]+)", (REPO / "README.md").read_text())
    assert said, "README: `make demo` needs only Python <first> to <last>"
    assert (said[1], said[2]) == (check.PYTHONS[0], check.PYTHONS[-1])


def _wheel(folder: Path, name: str, version: str, requires_python: str | None = None) -> Path:
    """A minimal pure-Python wheel: pip reads its metadata and nothing else."""
    dist = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    files = {
        f"{name}/__init__.py": "",
        f"{dist}/METADATA": metadata,
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{dist}/RECORD"])
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


@pytest.fixture
def index(tmp_path, monkeypatch):
    """A package index on 127.0.0.1 holding `tinypkg 1.0` (any Python) and `newpkg 1.0` (Python
    3.12 or later), and pip's settings pointed at it alone (no config file, no other index, no
    retries). Yields its URL; `missing` is not there (the index answers 404)."""
    root = tmp_path / "index"
    for name, requires in (("tinypkg", None), ("newpkg", ">=3.12")):
        (root / "simple" / name).mkdir(parents=True)
        wheel = _wheel(root, name, "1.0", requires)
        attribute = f' data-requires-python="{requires.replace(">", "&gt;")}"' if requires else ""
        (root / "simple" / name / "index.html").write_text(
            f'<a href="../../{wheel.name}"{attribute}>{wheel.name}</a>\n'
        )
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for variable in [v for v in os.environ if v.startswith("PIP_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "5")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{server.server_address[1]}/simple")
    yield server
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _run(tmp_path, capsys, pins: list[str], *options: str) -> tuple[int, str]:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pins) + "\n")
    status = check.main([*options, "--python", "3.11", str(requirements)])
    return status, capsys.readouterr().out


def test_pins_the_index_holds_resolve_everywhere(index, tmp_path, capsys):
    status, out = _run(tmp_path, capsys, ["tinypkg==1.0"])
    assert status == 0, out
    assert out.count("tinypkg-1.0-py3-none-any.whl") == len(check.PLATFORMS)
    assert "every pin resolves" in out


def test_a_pin_the_index_lacks_is_named_with_its_platform_and_python(index, tmp_path, capsys):
    status, out = _run(tmp_path, capsys, ["tinypkg==1.0", "missing==2.0", "newpkg==1.0"])
    assert status == 1, out
    for platform in check.PLATFORMS:
        assert f"Python 3.11, {platform}: missing==2.0 (" in out
        assert re.search(rf"Python 3\.11, {platform}: newpkg==1\.0 \(.*3\.12", out)
    assert "tinypkg==1.0" not in out
    assert "registry" not in out


def test_an_index_nobody_answers_is_no_registry_not_a_missing_pin(index, tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["PIP_INDEX_URL"] = f"http://127.0.0.1:{port}/simple"  # restored by monkeypatch
    status, out = _run(tmp_path, capsys, ["tinypkg==1.0"])
    assert status == 3, out
    assert "no package registry could be reached" in out and f"127.0.0.1:{port}" in out
    assert "no installable file" not in out


def test_a_pip_that_fails_otherwise_is_an_error_not_a_skip(index, tmp_path, capsys):
    broken = shlex.join([sys.executable, "-c", "import sys; sys.exit('pip broke')"])
    status, out = _run(tmp_path, capsys, ["tinypkg==1.0"], "--pip", broken)
    assert status == 2, out
    assert "pip failed" in out and "pip broke" in out
