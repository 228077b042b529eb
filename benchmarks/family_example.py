"""The photos behind README's "Recognise your family" outputs: three people of the sample's wild
photos (renamed ana, ben, carla: 8 photos each to enrol, 3 each to identify, 10 each unsorted to
cluster) and two strangers, copied into benchmarks/work/family-example/. Then, from that folder,
the commands README shows:

    facetransfer enrol family --gallery gallery --celeba-dir ../../../../shared/data/celeba
    facetransfer identify new --gallery gallery --out-dir annotated
    facetransfer verify family/ana/182709.jpg family/ana/184114.jpg
    facetransfer cluster unsorted --out-dir clusters --name 0=first
"""

from __future__ import annotations

import shutil

import pandas as pd
from common import SHARED_DATA, WORK


def main() -> None:
    wild_dir = SHARED_DATA / "celeba-wild" / "img_celeba"
    manifest = pd.read_csv(SHARED_DATA / "manifest.csv")
    wild = manifest[manifest["kind"] == "wild"]
    ids = sorted(wild["identity"].unique())
    root = WORK / "family-example"
    shutil.rmtree(root, ignore_errors=True)
    for name, who in zip(("ana", "ben", "carla"), ids[10:13], strict=True):
        files = list(wild.loc[wild["identity"] == who, "image"])
        for folder, chosen, prefix in (
            (root / "family" / name, files[:8], ""),
            (root / "new", files[8:11], f"{name}_"),
            (root / "unsorted", files[11:21], ""),
        ):
            folder.mkdir(parents=True, exist_ok=True)
            for f in chosen:
                shutil.copy(wild_dir / f, folder / f"{prefix}{f}")
    for who in ids[20:22]:
        first = list(wild.loc[wild["identity"] == who, "image"])[0]
        shutil.copy(wild_dir / first, root / "new" / f"stranger_{first}")
    print(root)


if __name__ == "__main__":
    main()
