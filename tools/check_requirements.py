"""Can pip install every pinned requirement on Linux x86_64, macOS arm64 and Windows amd64, on
each Python the README promises (3.11, 3.12, 3.13)?

For each platform and Python, the requirement files' markers are evaluated as that platform would
(`tensorflow-cpu` on Linux and Windows, `tensorflow` on macOS), and pip resolves the pins it keeps
against the package registry with `pip install --dry-run --only-binary=:all: --platform ...
--python-version ... --no-deps`: a pin with no wheel for a platform, or none for that Python,
fails. Packages published only as a source archive that builds on any platform (data, pure
Python) are listed in SOURCE_ONLY and allowed as such. The pip calls run a few at a time.

Exit status:
  0  every pin resolves everywhere;
  1  some pins do not resolve: each named with its platform, Python and pip's reason;
  2  pip failed for another reason (its words are shown): the check itself could not run;
  3  no package registry could be reached (an index pip was given could not be read: refused,
     unknown host, timed out, a server error): said, and `make test` skips the check.
A registry is told apart from a missing pin by pip's own debug log (`--log`): an index page that
could not be fetched for any reason but "404 Not Found" means the registry, not the pin.

    .venv/bin/python tools/check_requirements.py [--python 3.11 ...] [--pip CMD] [files ...]

pip reads its usual settings (PIP_INDEX_URL, PIP_FIND_LINKS, PIP_CONFIG_FILE...): point those at
a mirror, a local index or a folder of wheels to check against it.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# The Pythons the README promises (CI's venv is one of them). 3.10 was measured (this script,
# --python 3.10) and does not resolve: the pins of keras, numpy, pandas, matplotlib, pillow,
# scikit-learn, imageio, ipykernel, import-linter and grimp need 3.11 or later.
PYTHONS = ("3.11", "3.12", "3.13")
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
PIP_TIMEOUT_S = 300
WORKERS = 4  # pip calls at once: each mostly waits on the registry

OK, UNRESOLVED, UNREACHABLE, FAILED = "ok", "unresolved", "unreachable", "failed"
EXIT = {OK: 0, UNRESOLVED: 1, FAILED: 2, UNREACHABLE: 3}
# pip's words when the registry answered but has no file for a pin (or none for that Python)
NOT_FOUND = (
    "No matching distribution found for",
    "Could not find a version that satisfies the requirement",
    "requires a different Python",
)
# pip's debug log, for every index page it could not read
FETCH_FAILED = re.compile(r"Could not fetch URL (\S+?):? (.*?) - skipping")


@dataclass
class Outcome:
    """One pip call: OK (with the files pip chose), UNRESOLVED, UNREACHABLE or FAILED (with
    pip's last words, or the index that could not be read and why)."""

    status: str
    words: list[str] = field(default_factory=list)


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


def for_platform(requirements, env: dict, python: str = PYTHONS[0]) -> list[Requirement]:
    full = {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        **env,
    }
    return [r for r in requirements if r.marker is None or r.marker.evaluate(full)]


def pip_call(pins: list[str], python: str, tags: list[str] | None, pip: list[str]) -> Outcome:
    """One `pip install --dry-run` of `pins` for `python` on the platform of `tags` (None: a
    source archive, resolved for any platform, not built), classified."""
    with tempfile.TemporaryDirectory() as target:
        command = [
            *pip,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--no-deps",
            "--quiet",
            "--target",
            target,
            "--python-version",
            python,
            "--implementation",
            "cp",
            "--report",
            f"{target}/r.json",
            "--log",
            f"{target}/pip.log",
        ]
        if tags is not None:
            command.append("--only-binary=:all:")
            for tag in tags:
                command += ["--platform", tag]
        try:
            done = subprocess.run(
                [*command, *pins], capture_output=True, text=True, timeout=PIP_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return Outcome(UNREACHABLE, [f"pip did not finish in {PIP_TIMEOUT_S} s"])
        except OSError as error:
            return Outcome(FAILED, [f"{shlex.join(pip)}: {error}"])
        log = Path(target, "pip.log")
        log = log.read_text(errors="replace") if log.exists() else ""
        if done.returncode == 0:
            report = json.loads(Path(target, "r.json").read_text())
            return Outcome(
                OK, [i["download_info"]["url"].rsplit("/", 1)[-1] for i in report["install"]]
            )
    return classify(done.returncode, done.stdout + done.stderr, log)


def classify(returncode: int, output: str, log: str) -> Outcome:
    """A failed pip call: the registry (an index page not fetched, other than a 404), a pin
    (pip found no file for it), or pip itself (anything else)."""
    unread = [
        f"{url}: {reason}"
        for url, reason in FETCH_FAILED.findall(log + "\n" + output)
        if not reason.startswith("404 ")
    ]
    if unread:
        return Outcome(UNREACHABLE, sorted(set(unread)))
    errors = [
        re.sub(r" \(from versions: [^)]*\)", "", line.removeprefix("ERROR: "))
        for line in output.splitlines()
        if line.startswith("ERROR:") and "yanked" not in line
    ]
    if any(words in output for words in NOT_FOUND):
        return Outcome(UNRESOLVED, errors or output.strip().splitlines()[-1:])
    last = output.strip().splitlines()[-5:] or [f"(no output, exit status {returncode})"]
    return Outcome(FAILED, last)


def _name(requirement: Requirement) -> str:
    return requirement.name.lower().replace("_", "-")


def _without_marker(requirement: Requirement) -> str:
    return f"{requirement.name}{requirement.specifier}"


def _calls(requirements, python: str, tags: list[str]) -> list[tuple]:
    """The pip calls that resolve `requirements` on one platform and Python: the wheels in one,
    the source-only archives in another (platform-independent: `tags` None)."""
    wheels = [_without_marker(r) for r in requirements if _name(r) not in SOURCE_ONLY]
    sources = [_without_marker(r) for r in requirements if _name(r) in SOURCE_ONLY]
    calls = [(tuple(wheels), python, tuple(tags))] if wheels else []
    return calls + ([(tuple(sources), python, None)] if sources else [])


def _run_all(calls, pip: list[str]) -> dict[tuple, Outcome]:
    unique = list(dict.fromkeys(calls))
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = pool.map(
            lambda c: pip_call(list(c[0]), c[1], None if c[2] is None else list(c[2]), pip), unique
        )
        return dict(zip(unique, outcomes, strict=True))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=[ROOT / "requirements-dev.txt"])
    parser.add_argument(
        "--python",
        action="append",
        help=f"a Python version to resolve for, repeatable (default: {', '.join(PYTHONS)})",
    )
    parser.add_argument(
        "--pip",
        default=f"{shlex.quote(sys.executable)} -m pip",
        help="the pip command to run (default: this Python's pip)",
    )
    args = parser.parse_args(argv)
    pythons, pip = args.python or list(PYTHONS), shlex.split(args.pip)
    requirements = pinned(args.files)

    jobs = {}  # (python, platform) -> (pins kept there, pip calls)
    for python in pythons:
        for platform, spec in PLATFORMS.items():
            chosen = for_platform(requirements, spec["env"], python)
            jobs[python, platform] = (chosen, _calls(chosen, python, spec["tags"]))
    outcomes = _run_all([c for _, calls in jobs.values() for c in calls], pip)

    # a failed group: each of its pins alone, to name the ones at fault
    retry = []
    for (python, platform), (chosen, calls) in jobs.items():
        if any(outcomes[c].status == UNRESOLVED for c in calls):
            retry += [c for r in chosen for c in _calls([r], python, PLATFORMS[platform]["tags"])]
    outcomes.update(_run_all(retry, pip))

    unreachable = sorted({w for o in outcomes.values() if o.status == UNREACHABLE for w in o.words})
    if unreachable:
        print("skipped: no package registry could be reached to resolve the requirements:")
        print("  " + "\n  ".join(unreachable))
        return EXIT[UNREACHABLE]
    failed = sorted({w for o in outcomes.values() if o.status == FAILED for w in o.words})
    if failed:
        print(f"pip failed ({args.pip}); the requirements were not checked:")
        print("  " + "\n  ".join(failed))
        return EXIT[FAILED]

    unresolved = []
    for (python, platform), (chosen, calls) in jobs.items():
        if all(outcomes[c].status == OK for c in calls):
            files = [f for c in calls for f in outcomes[c].words]
            print(f"Python {python}, {platform}: {len(chosen)} pins resolve: " + ", ".join(files))
            continue
        named = []
        for requirement in chosen:
            for call in _calls([requirement], python, PLATFORMS[platform]["tags"]):
                if outcomes[call].status != OK:
                    reason = "; ".join(outcomes[call].words)
                    named.append(
                        f"Python {python}, {platform}: {_without_marker(requirement)} ({reason})"
                    )
        if not named:  # each alone resolves, not all together (a package pinned twice)
            words = [w for c in calls if outcomes[c].status != OK for w in outcomes[c].words]
            named.append(f"Python {python}, {platform}: the pins together ({'; '.join(words)})")
        unresolved += named
    if unresolved:
        print("no installable file for:\n  " + "\n  ".join(unresolved))
        return EXIT[UNRESOLVED]
    print(f"every pin resolves for {', '.join(PLATFORMS)} on Python {', '.join(pythons)}")
    return EXIT[OK]


if __name__ == "__main__":
    sys.exit(main())
