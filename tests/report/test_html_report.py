"""`facetransfer report`: the static HTML page of people, groups and photos with nobody found.

The page is opened in a real headless browser (Debian's Chromium, driven from its command line:
--dump-dom and --screenshot), which must show each group with its name and counts, load every
thumbnail (naturalWidth > 0), and link each face to its photo. Without a chromium binary those
tests skip and say why; the rest (escaping, relative links, atomic writes, the CLI's checks and
exit codes) run everywhere. The photos are matplotlib's Grace Hopper, resized and tinted, so
nothing here needs shared data or a model.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from facetransfer import cli
from facetransfer.cli import report as report_cli
from facetransfer.report.html import groups_from_clusters_csv, groups_from_index, write_report
from facetransfer.report.thumbnails import FACE_SIDE

HOPPER = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
HOPPER_FACE = (160, 140, 215, 200)  # x, y, w, h of her face in the 512 x 600 original
EVIL = "<script>alert(1)</script>"


# -- a small library: tinted portraits in folders, a photo with nobody, odd file names --------


def _portrait(path: Path, *, width: int, tint, mirror: bool = False) -> list[int]:
    """Grace Hopper at `width` px, tinted; returns her face box in the new photo."""
    image = Image.open(HOPPER).convert("RGB")
    scale = width / image.width
    image = image.resize((width, round(image.height * scale)), Image.Resampling.LANCZOS)
    pixels = np.asarray(image).astype(np.float32) * np.asarray(tint, np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    x, y, w, h = (round(v * scale) for v in HOPPER_FACE)
    if mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        x = image.width - x - w
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=90)
    return [x, y, w, h]


def _nobody(path: Path) -> None:
    ramp = np.linspace(40, 220, 240, dtype=np.float32)
    pixels = np.stack([np.tile(ramp, (160, 1))] * 3, axis=-1)
    pixels[..., 2] = 200
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


@pytest.fixture
def library(tmp_path):
    """photos/ with three tinted groups, one face in no group, a photo with nobody found (and
    names with a space, '#' and '%'), and clusters/clusters.csv as `facetransfer cluster` writes
    it (relative paths, as given on its command line)."""
    root = tmp_path / "work"
    photos = root / "photos"
    plan = {  # cluster: [(file, width, tint, mirror)]
        0: [
            ("warm/a 1.jpg", 320, (1.1, 0.9, 0.8), False),
            ("warm/b#2.jpg", 280, (1.1, 0.9, 0.8), True),
            ("warm/c.jpg", 360, (1.2, 0.9, 0.7), False),
        ],
        1: [
            ("cool/d.jpg", 300, (0.7, 0.9, 1.2), False),
            ("cool/e 100%.jpg", 260, (0.7, 1, 1.2), True),
        ],
        2: [
            ("grey/f.jpg", 300, (0.8, 0.8, 0.8), False),
            ("grey/g.jpg", 340, (0.9, 0.9, 0.9), True),
        ],
        -1: [("h.jpg", 300, (1.0, 1.0, 1.0), False)],
    }
    rows = []
    for cluster, items in plan.items():
        for name, width, tint, mirror in items:
            box = _portrait(photos / name, width=width, tint=tint, mirror=mirror)
            rows.append([f"photos/{name}", 0, " ".join(map(str, box)), cluster])
    _nobody(photos / "sky.png")
    clusters = root / "clusters"
    clusters.mkdir()
    with open(clusters / "clusters.csv", "w", newline="") as handle:
        import csv

        writer = csv.writer(handle)
        writer.writerow(["path", "face", "box", "cluster"])
        writer.writerows(rows)
    expected = {c: [root / "photos" / n for n, *_ in items] for c, items in plan.items()}
    return root, expected


def _main(argv, monkeypatch) -> int:
    """`facetransfer` with the report command registered (cli/__init__.py is another's file:
    until it registers report itself, the test adds it to the real parser)."""
    build = cli.build_parser

    def with_report():
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "report" not in sub.choices:
            report_cli.register(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", with_report)
    return cli.main(argv)


def _report(root: Path, monkeypatch, *extra) -> Path:
    monkeypatch.chdir(root)
    argv = ["report", "--clusters", "clusters", "photos", "-r", "--out-dir", "site", *extra]
    assert _main(argv, monkeypatch) == 0
    return root / "site"


# -- the browser ------------------------------------------------------------------------------


def _chromium() -> str | None:
    for name in (os.environ.get("FACETRANSFER_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _browser(tmp_path: Path, *args: str) -> str:
    """Headless Chromium, offline and alone (its own profile, no background networking)."""
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no chromium binary (Debian: apt-get install chromium; .ci/run installs it): the "
            "report is not opened in a browser"
        )
    profile = tmp_path / "chromium-profile"
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # as root in CI containers; the page is our own file
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# What a user sees, read by a script in a copy of the page (the page itself has none): every
# section's heading, its thumbnails as loaded and its links as the browser resolves them.
PROBE = """<script>
window.addEventListener("load", () => {
  const sections = [...document.querySelectorAll("section")].map((s) => ({
    id: s.id,
    name: s.querySelector("h2 .name") ? s.querySelector("h2 .name").innerText : null,
    count: s.querySelector("h2 .count") ? s.querySelector("h2 .count").innerText : null,
    images: [...s.querySelectorAll("img")].map((i) => ({
      src: i.src, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
      shown: i.getBoundingClientRect().height, link: i.closest("a") ? i.closest("a").href : null,
    })),
    links: [...s.querySelectorAll("a")].map((a) => a.href),
  }));
  const out = document.createElement("pre");
  out.id = "probe-result";
  out.textContent = JSON.stringify({
    title: document.title, text: document.body.innerText, sections,
    scripts: document.scripts.length,
  });
  document.body.appendChild(out);
});
</script>"""


def _seen(site: Path, tmp_path: Path) -> dict:
    """The page as Chromium shows it: PROBE's findings, once every image has loaded (lazy
    thumbnails are all in a window this tall)."""
    page = (site / "index.html").read_text(encoding="utf-8")
    probe = site / "_probe.html"
    probe.write_text(page.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
    try:
        dom = _browser(tmp_path, "--window-size=1400,8000", "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    assert found, "the probe did not run: " + dom[-1000:]
    return json.loads(html.unescape(found.group(1)))


def _path_of(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", url
    return Path(unquote(parsed.path))


def _screenshot(site: Path, tmp_path: Path, name: str = "report.png") -> Path:
    shot = tmp_path / name
    _browser(
        tmp_path, "--window-size=1280,1400", f"--screenshot={shot}", (site / "index.html").as_uri()
    )
    keep = os.environ.get("FACETRANSFER_SCREENSHOT_DIR")  # to look at it: set this to a folder
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / name)
    return shot


def test_the_page_in_chromium_shows_groups_names_counts_thumbnails_and_links(
    library, monkeypatch, tmp_path
):
    root, expected = library
    site = _report(root, monkeypatch, "--name", "0=Grace Hopper", "--name", "2=<script>")
    seen = _seen(site, tmp_path)

    sections = {s["name"]: s for s in seen["sections"]}
    assert list(sections) == [
        "<script>",  # named people first, by name, shown as text
        "Grace Hopper",
        "Group 1",  # then the unnamed groups
        "Faces in no group",
        "Photos where nobody was found",
    ]
    assert seen["scripts"] == 1, "the page itself must hold no script (only the probe's)"
    assert "<script>" in seen["text"] and "Grace Hopper" in seen["text"]
    assert "8 faces in 9 photos" in seen["text"]
    assert "2 people, 1 unnamed group, 1 in no group; 1 photo with nobody found" in seen["text"]

    for name, cluster, count in [
        ("Grace Hopper", 0, "3 faces in 3 photos"),
        ("Group 1", 1, "2 faces in 2 photos"),
        ("<script>", 2, "2 faces in 2 photos"),
        ("Faces in no group", -1, "1 face in 1 photo"),
    ]:
        section = sections[name]
        assert section["count"] == count
        images = section["images"]
        assert len(images) == len(expected[cluster])
        for image in images:  # loaded, decoded, at most FACE_SIDE, shown 96 px high
            assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
            assert max(image["width"], image["height"]) <= FACE_SIDE
            assert image["shown"] == 96
            assert _path_of(image["src"]).parent == (site / "thumbs").resolve()
        linked = sorted(_path_of(i["link"]) for i in images)
        assert linked == sorted(p.resolve() for p in expected[cluster])
        assert all(p.is_file() for p in linked)

    nobody = sections["Photos where nobody was found"]
    assert nobody["count"] == "1 photo"
    assert [_path_of(i["link"]) for i in nobody["images"]] == [(root / "photos/sky.png").resolve()]
    assert nobody["images"][0]["width"] > 0

    shot = _screenshot(site, tmp_path)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    assert pixels.std() > 20, "the screenshot is blank"
    # the faces are there: the first group's row holds the portraits' warm skin tones
    reddish = (pixels[..., 0] - pixels[..., 2] > 40).mean()
    assert reddish > 0.01, f"no portraits on screen ({reddish:.3%} warm pixels)"


def test_the_folder_moved_with_its_photos_still_opens(library, monkeypatch, tmp_path):
    root, expected = library
    _report(root, monkeypatch)
    moved = tmp_path / "moved"
    shutil.move(root, moved)
    seen = _seen(moved / "site", tmp_path)
    images = [i for s in seen["sections"] for i in s["images"]]
    assert len(images) == 9 and all(i["width"] > 0 for i in images)
    assert all(_path_of(i["link"]).is_relative_to(moved.resolve()) for i in images)
    assert all(_path_of(i["link"]).is_file() for i in images)


def test_the_probe_sees_a_broken_thumbnail(library, monkeypatch, tmp_path):
    """The browser check can fail: a thumbnail that is not there loads with naturalWidth 0."""
    root, _ = library
    site = _report(root, monkeypatch)
    victim = sorted((site / "thumbs").glob("*.jpg"))[0]
    victim.unlink()
    seen = _seen(site, tmp_path)
    widths = [i["width"] for s in seen["sections"] for i in s["images"]]
    assert widths.count(0) == 1


def test_an_evil_name_is_text_in_the_browser(tmp_path):
    photo = tmp_path / "p.jpg"
    box = _portrait(photo, width=200, tint=(1, 1, 1))
    faces = [{"photo": str(photo), "box": box}]
    site = tmp_path / "site"
    write_report([{"name": EVIL, "faces": faces}], [], site, progress=False)
    seen = _seen(site, tmp_path)
    assert seen["scripts"] == 1
    assert seen["sections"][0]["name"] == EVIL
    assert EVIL in seen["text"]


# -- without a browser: the file itself ------------------------------------------------------


def test_names_are_escaped_and_links_relative(library, monkeypatch):
    root, _ = library
    site = _report(root, monkeypatch, "--name", "1=<script>")
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;" in page
    hrefs = re.findall(r'href="([^"#][^"]*)"', page)
    srcs = re.findall(r'src="([^"]*)"', page)
    assert hrefs and srcs
    assert not any(h.startswith(("/", "file:")) for h in hrefs + srcs)
    assert "../photos/warm/a%201.jpg" in hrefs and "../photos/warm/b%232.jpg" in hrefs
    assert "../photos/cool/e%20100%25.jpg" in hrefs
    assert all(s.startswith("thumbs/") and (site / s).is_file() for s in srcs)
    for thumb in (site / "thumbs").iterdir():
        with Image.open(thumb) as image:
            assert image.format == "JPEG" and max(image.size) <= 192


def test_written_whole_reused_and_tidied(library, monkeypatch, capsys):
    root, _ = library
    site = _report(root, monkeypatch)
    assert "9 photos" in capsys.readouterr().err
    before = {p.name: p.stat().st_mtime_ns for p in (site / "thumbs").iterdir()}
    assert len(before) == 9 and not list(site.rglob("*.partial"))
    (site / "thumbs" / ".0123456789abcdef0123.jpg.partial").write_bytes(b"killed")
    (site / "thumbs" / "0123456789abcdef0123.jpg").write_bytes(b"old")
    (site / "thumbs" / "notes.txt").write_text("the user's")
    _report(root, monkeypatch)
    after = {p.name: p.stat().st_mtime_ns for p in (site / "thumbs").iterdir()}
    assert after == {**before, "notes.txt": after["notes.txt"]}  # reused, leftovers gone
    # a photo changed: its thumbnail is made again, the old one removed
    _portrait(root / "photos/h.jpg", width=310, tint=(1, 0.5, 0.5))
    _report(root, monkeypatch)
    again = set(p.name for p in (site / "thumbs").iterdir())
    assert len(again - set(after)) == 1 and len(set(after) - again) == 1


def test_unreadable_photos_are_listed_not_fatal(library, monkeypatch, capsys):
    root, _ = library
    (root / "photos/cool/d.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (root / "photos/grey/f.jpg").unlink()
    site = _report(root, monkeypatch)
    err = capsys.readouterr().err
    assert "could not read 2 photos (1 " in err and "1 file not found" in err
    assert len([line for line in err.splitlines() if "could not read" in line]) == 1
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "Photos that could not be read" in page and 'class="missing"' in page
    assert page.count('class="missing"') == 2


def test_a_box_outside_its_photo_is_said_not_fatal(tmp_path):
    photo = tmp_path / "p.jpg"
    box = _portrait(photo, width=200, tint=(1, 1, 1))
    faces = [{"photo": str(photo), "box": box}, {"photo": str(photo), "box": [900, 900, 50, 50]}]
    site = tmp_path / "site"
    write_report([{"name": "ana", "faces": faces}], [], site, progress=False)
    page = (site / "index.html").read_text(encoding="utf-8")
    assert page.count("<img") == 1 and "face box outside the photo" in page


def test_more_faces_than_shown_are_listed_as_links(tmp_path):
    photo = tmp_path / "p.jpg"
    box = _portrait(photo, width=200, tint=(1, 1, 1))
    others = []
    for k in range(5):
        other = tmp_path / f"q{k}.jpg"
        shutil.copy(photo, other)
        others.append(other)
    faces = [{"photo": str(p), "box": box} for p in [photo, *others]]
    site = tmp_path / "site"
    write_report([{"name": None, "id": 7, "faces": faces}], [], site, max_faces_shown=2)
    page = (site / "index.html").read_text(encoding="utf-8")
    assert page.count("<img") == 2 and len(list((site / "thumbs").iterdir())) == 2
    assert "4 more faces, in 4 photos" in page and "Group 7" in page


def test_a_big_turned_photo_is_cut_where_its_face_is(tmp_path):
    """A 2560-px JPEG stored on its side with an EXIF orientation: decoded small (libjpeg's
    draft), turned upright, and the face cut from the box given in upright full-size pixels."""
    from facetransfer.data.images import read_rgb

    upright = tmp_path / "upright.jpg"
    box = _portrait(upright, width=2560, tint=(1, 1, 1))
    stored = Image.open(upright).transpose(Image.Transpose.ROTATE_270)  # turned on its side
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    turned = tmp_path / "turned.jpg"
    stored.save(turned, quality=90, exif=exif)
    full = read_rgb(turned)
    assert full.shape[:2] == (3000, 2560)  # read upright

    site = tmp_path / "site"
    write_report([{"name": "g", "faces": [{"photo": str(turned), "box": box}]}], [], site)
    (thumb,) = (site / "thumbs").iterdir()
    got = np.asarray(Image.open(thumb).convert("RGB")).astype(np.float32)
    assert max(got.shape[:2]) == FACE_SIDE
    x, y, w, h = box
    side = max(w, h) * 1.5
    cx, cy = x + w / 2, y + h / 2
    crop = full[int(cy - side / 2) : int(cy + side / 2), int(cx - side / 2) : int(cx + side / 2)]
    want = Image.fromarray(crop).resize(got.shape[1::-1], Image.Resampling.LANCZOS)
    difference = np.abs(got - np.asarray(want, np.float32)).mean()
    assert difference < 12, difference  # the same face, not a shifted or turned cut


# -- the adapters -----------------------------------------------------------------------------


def test_clusters_csv_adapter(library):
    root, _ = library
    data = groups_from_clusters_csv(
        root / "clusters/clusters.csv", names={1: "ana"}, photos=[root / "photos/sky.png"]
    )
    assert [(g["id"], g["name"], len(g["faces"])) for g in data.groups] == [
        (0, None, 3),
        (1, "ana", 2),
        (2, None, 2),
    ]
    assert data.groups[0]["faces"][0] == {
        "photo": "photos/warm/a 1.jpg",
        "box": [100, 88, 134, 125],
    }
    assert len(data.ungrouped) == 1 and data.no_face == [str(root / "photos/sky.png")]


def test_index_rows_adapter():
    """What the index's author is expected to give (library.pages.report_rows): rows by column
    name, from a join of the index's tables; here an in-memory database shaped like it, with a
    table of groups and their names as clustering is expected to add."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.executescript(
        """
        CREATE TABLE photos (path TEXT, hash TEXT, status TEXT, reason TEXT);
        CREATE TABLE described (hash TEXT, faces INTEGER);
        CREATE TABLE faces (hash TEXT, face INTEGER, x INT, y INT, w INT, h INT);
        CREATE TABLE face_groups (hash TEXT, face INTEGER, group_id INTEGER);
        CREATE TABLE groups (group_id INTEGER, name TEXT);
        INSERT INTO photos VALUES ('/l/a.jpg', 'A', 'ok', NULL), ('/l/a copy.jpg', 'A', 'ok', NULL),
            ('/l/b.jpg', 'B', 'ok', NULL), ('/l/e.jpg', 'E', 'ok', NULL),
            ('/l/new.jpg', 'N', 'ok', NULL), ('/l/bad.jpg', 'X', 'skipped', 'truncated'),
            ('/l/gone.jpg', 'G', 'removed', NULL);
        INSERT INTO described VALUES ('A', 1), ('B', 2), ('E', 0);
        INSERT INTO faces VALUES ('A', 0, 1, 2, 30, 40), ('B', 0, 5, 6, 30, 40),
            ('B', 1, 50, 6, 20, 20);
        INSERT INTO face_groups VALUES ('A', 0, 4), ('B', 0, 4), ('B', 1, -1);
        INSERT INTO groups VALUES (4, 'ana');
        """
    )
    faces = db.execute(
        """SELECT p.path, f.x, f.y, f.w, f.h, fg.group_id, g.name AS group_name
        FROM photos p JOIN faces f USING (hash)
        LEFT JOIN face_groups fg ON fg.hash = f.hash AND fg.face = f.face
        LEFT JOIN groups g USING (group_id)
        WHERE p.status = 'ok' ORDER BY p.path, f.face"""
    ).fetchall()
    photos = db.execute(
        "SELECT p.path, p.status, p.reason, d.faces FROM photos p LEFT JOIN described d USING "
        "(hash) ORDER BY p.path"
    ).fetchall()
    data = groups_from_index(faces, photos)
    assert [(g["id"], g["name"], [f["photo"] for f in g["faces"]]) for g in data.groups] == [
        (4, "ana", ["/l/a copy.jpg", "/l/a.jpg", "/l/b.jpg"])
    ]
    assert data.ungrouped == [{"photo": "/l/b.jpg", "box": [50, 6, 20, 20]}]
    assert data.no_face == ["/l/e.jpg"]  # not /l/new.jpg: not described yet
    assert data.skipped == [("/l/bad.jpg", "truncated")]

    plain = groups_from_index(
        [{"path": "c.jpg", "box": "1 2 3 4", "group_id": None, "group_name": None}], []
    )
    assert plain.ungrouped == [{"photo": "c.jpg", "box": "1 2 3 4"}] and not plain.groups


def test_skipped_photos_from_an_index_are_listed(tmp_path):
    site = tmp_path / "site"
    summary = write_report([], [], site, skipped=[("/l/bad.jpg", "truncated")], progress=False)
    assert summary.unreadable == [("/l/bad.jpg", "truncated")] and summary.photos == 1
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "Photos that could not be read" in page and "truncated" in page


# -- the command's checks: before anything loads, one line, the documented exit codes --------


@pytest.mark.parametrize(
    "argv, code, said",
    [
        (["--clusters", "nowhere", "--out-dir", "site"], 3, "nowhere: no such clusters folder"),
        (["--clusters", "photos", "--out-dir", "site"], 3, "clusters.csv"),
        (["--clusters", "clusters", "--out-dir", "photos/h.jpg"], 3, "a file is there"),
        (["--clusters", "clusters"], 2, "--out-dir"),
        (["--clusters", "clusters", "--index", "x.db", "--out-dir", "s"], 2, "not allowed with"),
        (["--out-dir", "site"], 2, "one of the arguments --clusters --index is required"),
        (["--clusters", "clusters", "--out-dir", "s", "--name", "7=ana"], 2, "no group 7"),
        (["--clusters", "clusters", "--out-dir", "s", "--name", "0=a/b"], 2, "not a usable name"),
        (["--clusters", "clusters", "--out-dir", "s", "--max-faces", "0"], 2, "1 or more"),
        (["--index", "missing.db", "--out-dir", "s"], 3, "no such photo index file"),
        (["--index", "photos/h.jpg", "--out-dir", "s"], 3, "h.jpg: not an SQLite index file"),
        (["--clusters", "clusters", "missing.jpg", "--out-dir", "s"], 3, "missing.jpg"),
    ],
)
def test_wrong_input_is_one_line_and_its_exit_code(library, monkeypatch, capsys, argv, code, said):
    root, _ = library
    monkeypatch.chdir(root)
    try:
        got = _main(["report", *argv], monkeypatch)
    except SystemExit as exit_info:  # argparse's usage errors
        got = exit_info.code
    err = capsys.readouterr().err
    assert got == code, err
    assert said in err
    if code == 3 or "usage:" not in err:
        assert len(err.strip().splitlines()) == 1, err
    assert not (root / "s").exists()


def test_not_a_clusters_csv(library, monkeypatch, capsys):
    root, _ = library
    (root / "clusters/clusters.csv").write_text("name,age\nana,3\n")
    monkeypatch.chdir(root)
    assert _main(["report", "--clusters", "clusters", "--out-dir", "s"], monkeypatch) == 3
    assert "not a clusters.csv" in capsys.readouterr().err


def test_help(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _main(["report", "--help"], monkeypatch)
    assert exit_info.value.code == 0
    assert "usage: facetransfer report" in capsys.readouterr().out
