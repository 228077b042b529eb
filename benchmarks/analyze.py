"""Attributes per face: a head on dlib's descriptor, trained on CelebA's labels, beside the
majority baseline (and the improved CNN's numbers, from its own run, when given).

Protocol:
- The real CelebA sample (../shared/data/celeba), its official partition. The 60 evaluation people
  of benchmarks/recognition.py (seed 0, 30 aligned + 30 wild) are left out of every split, as the
  improved CNN of BENCHMARKS.md section 5 was trained and tested, so both are scored on the same
  test images; the whole test split (those people included, none of them seen in training) is
  reported too.
- Each image's descriptor: dlib's face ResNet (models/dlib.h5, the Keras rebuild) on dlib's
  150x150 chip re-cut from CelebA's alignment (`facetransfer.modeling.teacher`, cached in
  benchmarks/work/cache and shared with the student's runs).
- Candidates fit on train, compared on validation by mean ROC AUC over the 40 attributes (no
  threshold in it): logistic regression per attribute at a few L2 strengths, and a one-hidden-layer
  MLP. The best is refit as the head; its per-attribute thresholds are tuned on validation for
  balanced accuracy; it is scored once on test.
- Majority baseline: each attribute's commoner value on train, answered for every test face.

    .venv/bin/python benchmarks/analyze.py                    # measure (~3 min with the cache cold)
    .venv/bin/python benchmarks/analyze.py --write-weights    # and ship the head in the package
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from common import SHARED_DATA, WORK, evaluation_people, machine

SPLITS = ("train", "validation", "test")
COMMAND = ".venv/bin/python benchmarks/analyze.py"


def mean_auc(y: np.ndarray, p: np.ndarray) -> float:
    from facetransfer.report import evaluate

    both = [j for j in range(y.shape[1]) if 0 < y[:, j].sum() < len(y)]
    return float(np.mean([evaluate.roc_auc(y[:, j], p[:, j]) for j in both]))


def scores(head, x: np.ndarray, y: np.ndarray, majority: np.ndarray) -> dict:
    """The head and the majority baseline on one split, means over the 40 attributes."""
    from facetransfer.report import evaluate

    p = head.predict(x)
    half = evaluate.summarize_attributes(evaluate.attribute_report(y, p, head.names, majority))
    tuned = evaluate.summarize_attributes(
        evaluate.attribute_report(y, p, head.names, majority, thresholds=head.thresholds)
    )
    constant = np.broadcast_to(majority, y.shape)
    return {
        "images": int(len(y)),
        "mean_accuracy_at_0.5": half["mean_accuracy"],
        "mean_balanced_accuracy_at_0.5": half["mean_balanced_accuracy"],
        "mean_accuracy_tuned": tuned["mean_accuracy"],
        "mean_balanced_accuracy_tuned": tuned["mean_balanced_accuracy"],
        "mean_roc_auc": mean_auc(y, p),
        "n_better_than_majority_at_0.5": half["n_better_than_majority"],
        "majority_mean_accuracy": half["mean_majority_accuracy"],
        "majority_mean_balanced_accuracy": float(np.mean(evaluate.balanced_accuracy(y, constant))),
        "attributes_with_one_class": [
            name for name, n in zip(head.names, y.sum(0), strict=True) if n in (0, len(y))
        ],
        **bootstrap(y, head.decide(p), p >= 0.5),
    }


def bootstrap(y: np.ndarray, tuned: np.ndarray, half: np.ndarray, n: int = 1000) -> dict:
    """Standard errors over the test images (resampled with replacement, thresholds fixed): how
    far a split this size moves the means by chance."""
    from facetransfer.report import evaluate

    rng = np.random.default_rng(0)
    ba, acc = [], []
    for _ in range(n):
        rows = rng.integers(0, len(y), len(y))
        ba.append(np.mean(evaluate.balanced_accuracy(y[rows], tuned[rows])))
        acc.append(np.mean(half[rows] == y[rows]))
    return {
        "bootstrap_se_mean_balanced_accuracy_tuned": float(np.std(ba)),
        "bootstrap_se_mean_accuracy_at_0.5": float(np.std(acc)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED_DATA)
    parser.add_argument("--people", type=int, default=30, help="evaluation people per kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--c-values", type=float, nargs="+", default=[0.01, 0.1, 1.0], help="L2: inverse strengths"
    )
    parser.add_argument("--hidden", type=int, default=64, help="the MLP candidate's hidden units")
    parser.add_argument(
        "--write-weights", action="store_true", help="write the head into the package"
    )
    parser.add_argument(
        "--cnn-result",
        type=Path,
        default=WORK / "student_attributes.json",
        help="the improved CNN's result of recognition.py --stage base, shown beside if present",
    )
    args = parser.parse_args(argv)
    if not (args.shared / "manifest.csv").exists():
        print(f"no shared data at {args.shared}", file=sys.stderr)
        return 2
    from facetransfer.data.celeba import load_celeba
    from facetransfer.modeling import attribute_head
    from facetransfer.modeling.bases import resolve_base
    from facetransfer.modeling.teacher import teacher_descriptors
    from facetransfer.progress import setup_logging
    from facetransfer.report import evaluate

    setup_logging()
    WORK.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    celeba = load_celeba(args.shared / "celeba", seed=args.seed)
    full, wild = evaluation_people(args.shared, args.people, args.seed)
    excluded = full + wild
    dlib = resolve_base("dlib", WORK / "models")

    # Descriptors of every image of each split (cached), then the rows without evaluation people.
    x_all, y_all, keep, built, first_build = {}, {}, {}, 0.0, 0.0
    for split in SPLITS:
        frame = celeba.split(split)
        described = teacher_descriptors(celeba.paths(frame), dlib, WORK / "cache", progress=False)
        built += described.seconds
        # reused: the build time its first run recorded beside the cache (modeling.teacher)
        record_file = described.path.with_suffix(".json")
        if not described.seconds and record_file.exists():
            first_build += json.loads(record_file.read_text()).get("seconds", 0.0)
        x_all[split] = described.values
        y_all[split] = frame.to_numpy(dtype=np.uint8)
        keep[split] = ~celeba.identity.loc[frame.index].isin(excluded).to_numpy()
    x = {s: x_all[s][keep[s]] for s in SPLITS}
    y = {s: y_all[s][keep[s]] for s in SPLITS}
    descriptor_seconds = time.perf_counter() - start
    train_people = celeba.identity.loc[celeba.split("train").index[keep["train"]]]
    assert not set(excluded) & set(train_people), "an evaluation person among the training images"
    counts = {s: int(keep[s].sum()) for s in SPLITS}
    print(
        f"images per split (the {len(excluded)} evaluation people left out): {counts}; "
        f"whole splits: { {s: len(y_all[s]) for s in SPLITS} }"
    )
    print(
        f"descriptors: {sum(len(v) for v in x_all.values())} images, "
        + (
            f"built in {built:.1f} s"
            if built
            else f"reused from the cache (its first build took {first_build:.1f} s)"
        )
        + f" ({descriptor_seconds:.1f} s with loading)"
    )

    # Candidates on validation: mean ROC AUC (threshold-free), and balanced accuracy at
    # thresholds tuned on validation itself (optimistic for every candidate alike).
    candidates = [("logistic", c) for c in args.c_values] + [("mlp", 1.0)]
    chosen, best, selection = None, None, []
    for kind, c in candidates:
        t = time.perf_counter()
        head = attribute_head.train_attribute_head(
            x["train"], y["train"], x["validation"], y["validation"], kind=kind, c=c,
            hidden=args.hidden, seed=args.seed,
        )  # fmt: skip
        p = head.predict(x["validation"])
        row = {
            "head": f"logistic C={c:g}" if kind == "logistic" else f"mlp {args.hidden} hidden",
            "validation_mean_roc_auc": mean_auc(y["validation"], p),
            "validation_mean_balanced_accuracy_tuned": float(
                np.mean(evaluate.balanced_accuracy(y["validation"], head.decide(p)))
            ),
            "validation_mean_accuracy_at_0.5": float(((p >= 0.5) == y["validation"]).mean()),
            "fit_seconds": round(time.perf_counter() - t, 1),
        }
        selection.append(row)
        print(
            f"validation, {row['head']}: mean ROC AUC {row['validation_mean_roc_auc']:.4f}, "
            f"mean balanced accuracy (tuned there) "
            f"{row['validation_mean_balanced_accuracy_tuned']:.4f}, mean accuracy at 0.5 "
            f"{row['validation_mean_accuracy_at_0.5']:.4f} ({row['fit_seconds']} s)"
        )
        if best is None or row["validation_mean_roc_auc"] > best["validation_mean_roc_auc"]:
            chosen, best = head, row
    kind_line = best["head"]
    print(f"chosen on validation (best mean ROC AUC): {kind_line}")

    majority = evaluate.majority_baseline(y["train"])
    test = scores(chosen, x["test"], y["test"], majority)
    test_whole = scores(chosen, x_all["test"], y_all["test"], majority)
    record = {
        "command": " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "counts": counts,
        "whole_split_counts": {s: len(y_all[s]) for s in SPLITS},
        "evaluation_people_left_out": len(excluded),
        "descriptor_build_seconds": round(built, 1),
        "descriptor_first_build_seconds": round(first_build, 1),
        "selection": selection,
        "chosen": kind_line,
        "test": test,
        "test_whole_split": test_whole,
    }

    cnn = None
    if args.cnn_result.exists():
        saved = json.loads(args.cnn_result.read_text())
        cnn = (saved["test_mean_accuracy"], saved["test_mean_balanced_accuracy_tuned"])
        record["cnn"] = {"file": str(args.cnn_result), "mean_accuracy": cnn[0], "balanced": cnn[1]}

    print()
    print("| test split, 40 attributes | images | mean accuracy at 0.5 | mean balanced accuracy, "
          "thresholds tuned on validation | mean balanced accuracy at 0.5 | mean accuracy at the "
          "tuned thresholds |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for label, s in (
        (f"dlib descriptor + {kind_line} head, the CNN's test images", test),
        (f"dlib descriptor + {kind_line} head, the whole test split", test_whole),
    ):
        print(
            f"| {label} | {s['images']} | **{s['mean_accuracy_at_0.5']:.3f}** | "
            f"**{s['mean_balanced_accuracy_tuned']:.3f}** | "
            f"{s['mean_balanced_accuracy_at_0.5']:.3f} | {s['mean_accuracy_tuned']:.3f} |"
        )
    for label, s in (("the CNN's test images", test), ("the whole test split", test_whole)):
        print(
            f"| majority baseline (train's commoner value), {label} | {s['images']} | "
            f"{s['majority_mean_accuracy']:.3f} | {s['majority_mean_balanced_accuracy']:.3f} | "
            f"{s['majority_mean_balanced_accuracy']:.3f} | {s['majority_mean_accuracy']:.3f} |"
        )
    if cnn:
        print(f"| improved CNN ({args.cnn_result.name}) | {test['images']} | {cnn[0]:.3f} | "
              f"{cnn[1]:.3f} | | |")  # fmt: skip
    print()
    print(
        f"test ({test['images']} images): mean ROC AUC {test['mean_roc_auc']:.3f}; "
        f"{test['n_better_than_majority_at_0.5']} of 40 attributes more accurate than the "
        "majority at 0.5; bootstrap standard error over the images: mean balanced accuracy "
        f"{test['bootstrap_se_mean_balanced_accuracy_tuned']:.3f}, mean accuracy "
        f"{test['bootstrap_se_mean_accuracy_at_0.5']:.3f}"
    )
    print(
        "attributes with one class only (balanced accuracy is then the one defined rate, 1.0 for "
        f"the majority's answer): {test['attributes_with_one_class']} on the CNN's test images, "
        f"{test_whole['attributes_with_one_class']} on the whole split"
    )

    if args.write_weights:
        people = int(train_people.nunique())
        head = attribute_head.AttributeHead(
            **{
                **chosen.__dict__,
                "learned_from": {
                    "data": "real CelebA faces: the CelebA sample's train split "
                    f"({args.shared.name}/celeba), the {len(excluded)} evaluation people of "
                    "benchmarks/recognition.py left out",
                    "split": "train",
                    "images": counts["train"],
                    "people": people,
                    "thresholds": f"tuned for balanced accuracy on the validation split, "
                    f"{counts['validation']} images",
                    "descriptor": "dlib_face_recognition_resnet_model_v1 (models/dlib.h5) on "
                    "dlib's 150x150 chip re-cut from CelebA's alignment",
                    "head": kind_line,
                    "test": {
                        "images": test["images"],
                        **{k: round(v, 4) for k, v in test.items() if isinstance(v, float)},
                    },
                    "licence": attribute_head.LICENCE,
                    "command": record["command"],
                },
            }
        )
        path = head.save(attribute_head.WEIGHTS_FILE)
        again = attribute_head.load_attribute_head()
        assert np.allclose(again.predict(x["test"]), chosen.predict(x["test"]), atol=1e-5)
        record["weights"] = {"file": str(path), "bytes": path.stat().st_size}
        print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KB), reloaded and checked")

    record["seconds"] = round(time.perf_counter() - start, 1)
    out = WORK / "analyze.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"machine: {record['machine']}; {record['seconds']} s in all; -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
