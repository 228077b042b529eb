"""Can pip install every pinned requirement on Linux x86_64, macOS arm64 and Windows amd64?

For each platform, the requirement files' markers are evaluated as that platform would
(`tensorflow-cpu` on Linux and Windows, `tensorflow` on macOS), and pip resolves the pins it keeps
against the package registry with `pip install --dry-run --only-binary=:all: --platform ...
--no-deps`: a pin with no wheel for a platform fails. Packages published only as a source
archive that builds on any platform (data, pure Python) are listed in SOURCE_ONLY and allowed
as such. Exit status 0: all resolve; 1: some do not (named); 3: no registry could be reached.

    .venv/bin/python tools/check_requirements.py [requirements.txt requirements-dev.txt]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "3.11"  # the version CI and the README's venv use
PLATFORMS = {
    "Linux x86_64": {
        # pip takes these tags as they are, without the older ones each implies
        "tags": [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)]
        + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"],
        "env": {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": "x86_64",
            "os_name": "posix",
        },
    },
    "macOS arm64": {
        "tags": [
            f"macosx_{major}_0_{arch}"
            for major in range(14, 10, -1)
            for arch in ("arm64", "universal2")
        ],
        "env": {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "platform_machine": "arm64",
            "os_name": "posix",
        },
    },
    "Windows amd64": {
        "tags": ["win_amd64"],
        "env": {
            "sys_platform": "win32",
            "platform_system": "Windows",
            "platform_machine": "AMD64",
            "os_name": "nt",
        },
    },
}
# Published as a source archive only, and buildable anywhere: it holds model files, no code.
SOURCE_ONLY = {"face-recognition-models"}
UNREACHABLE = ("No matching distribution found for", "Could not fetch URL", "connection")


def pinned(files) -> list[Requirement]:
    """Every requirement line of `files`, following `-r other.txt`."""
    out = []
    for file in files:
        for line in Path(file).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("-r "):
                out += pinned([Path(file).parent / line[3:].strip()])
            else:
                out.append(Requirement(line))
    return out


def for_platform(requirements, env: dict) -> list[Requirement]:
    full = {
        "python_version": PYTHON,
        "python_full_version": f"{PYTHON}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        **env,
    }
    return [r for r in requirements if r.marker is None or r.marker.evaluate(full)]


def resolve(requirements, tags: list[str]) -> tuple[bool, list[str]]:
    """(resolved, the file pip chose for each pin, or its last words) for pins on one platform,
    in one pip call."""
    sources = [r for r in requirements if _name(r) in SOURCE_ONLY]
    wheels = [r for r in requirements if _name(r) not in SOURCE_ONLY]
    chosen, ok = [], True
    for group, binary in ((wheels, True), (sources, False)):
        if not group:
            continue
        with tempfile.TemporaryDirectory() as target:
            command = [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--no-deps",
                "--quiet",
                "--target",
                target,
                "--python-version",
                PYTHON,
                "--implementation",
                "cp",
                "--report",
                f"{target}/r.json",
            ]
            if binary:  # a source archive is resolved, not built, for another platform
                command.append("--only-binary=:all:")
                for tag in tags:
                    command += ["--platform", tag]
            done = subprocess.run(
                [*command, *map(_without_marker, group)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                ok = False
                chosen.append((done.stderr.strip().splitlines() or ["(no output)"])[-1])
                continue
            report = json.loads(Path(target, "r.json").read_text())
            chosen += [i["download_info"]["url"].rsplit("/", 1)[-1] for i in report["install"]]
    return ok, chosen


def _name(requirement: Requirement) -> str:
    return requirement.name.lower().replace("_", "-")


def _without_marker(requirement: Requirement) -> str:
    return f"{requirement.name}{requirement.specifier}"


def registry_reachable() -> bool:
    ok, _ = resolve([Requirement("six==1.16.0")], PLATFORMS["Linux x86_64"]["tags"])
    return ok


def main(argv=None) -> int:
    files = (argv if argv is not None else sys.argv[1:]) or [ROOT / "requirements-dev.txt"]
    if not registry_reachable():
        print("skipped: no package registry could be reached to resolve the requirements")
        return 3
    requirements = pinned(files)
    failures = []
    for platform, spec in PLATFORMS.items():
        chosen = for_platform(requirements, spec["env"])
        ok, files_chosen = resolve(chosen, spec["tags"])
        if ok:
            print(f"{platform}: {len(chosen)} pins resolve: " + ", ".join(files_chosen))
            continue
        for requirement in chosen:  # one at a time, to name the pins at fault
            if not resolve([requirement], spec["tags"])[0]:
                failures.append(f"{platform}: {_without_marker(requirement)}")
    if failures:
        print("no installable file for:\n  " + "\n  ".join(failures))
        return 1
    print(f"every pin resolves for {', '.join(PLATFORMS)} (Python {PYTHON})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
