"""Detection quality on every scenario family, on seeds the models never saw.

    python -m bench.quality [--generator project|independent] [--seeds 301 302 303]
                            [--scale 1] [--families ...] [--view waves|structure]

Simulates each family with each seed, runs the offline pipeline (as ``mrd analyze``)
and scores it (as ``mrd evaluate``). ``--generator independent`` uses
``bench/independent_world.py``, a second simulator written separately from the
project's (other distributions, other families), which the models never see.
Prints one row per family (mean over seeds) and the worst value over all runs for
each target metric. ``--view structure`` shows the network figures instead: tier
macro-F1 and tier-1/2 precision, attribution top-1 accuracy, re-creation precision and
recall; ``--view bystanders`` tier-3 precision and recall and how many bystanders,
victims, lookalike sign-ups and wrongly labelled accounts were put in a tier at
confidence >= 0.5 (and lookalikes linked as re-created accounts).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.datasets import load_data, read_truth
from app.detection.pipeline import analyze
from app.detection.scores import Models
from app.detection.shapes import shape
from app.tools.evaluate import TARGETS, evaluate, meets_target
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.output import write_world
from app.tools.simulate.scenarios import SIZE_VARIANTS
from bench import independent_world

COLUMNS = (
    "orchestrated_wave_recall",
    "organic_false_alarm_rate",
    "wave_precision",
    "wrongful_suspension_rate",
    "shielded_violator_rate",
    "reporter_roc_auc",
    "reporter_calibration_error",
)
SHORT = ("recall", "false_alarm", "precision", "wrongful", "shielded", "auc", "ece")
VIEWS = {
    "waves": (COLUMNS, SHORT),
    "structure": (
        (
            "tier_macro_f1",
            "tier_1_precision",
            "tier_2_precision",
            "attribution_top1_accuracy",
            "orchestrator_precision",
            "orchestrator_recall",
            "recreation_precision",
            "recreation_recall",
        ),
        (
            "tier_f1",
            "tier1_prec",
            "tier2_prec",
            "attrib_top1",
            "orch_prec",
            "orch_recall",
            "recr_prec",
            "recr_recall",
        ),
    ),
    "bystanders": (
        (
            "tier_3_precision",
            "tier_3_recall",
            "tier_calibration_error",
            "bystanders_in_tiers",
            "victims_in_tiers",
            "lookalikes_in_tiers",
            "wrongly_labelled_in_tiers",
            "lookalikes_linked",
        ),
        (
            "t3_prec",
            "t3_recall",
            "tier_ece",
            "bystanders",
            "victims",
            "lookalikes",
            "wrong_label",
            "look_linked",
        ),
    ),
}


def write_project_world(family: str, seed: int, folder: Path, scale: float) -> None:
    write_world(generate(SCENARIOS[family], seed, scale), folder)


GENERATORS = {
    "project": (write_project_world, tuple(f for f in SCENARIOS if f not in SIZE_VARIANTS)),
    "independent": (independent_world.write_world, independent_world.FAMILIES),
}


def run(
    family: str,
    seed: int,
    scale: float,
    models: Models | None = None,
    generator: str = "project",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        GENERATORS[generator][0](family, seed, folder, scale)
        data = load_data(folder)
        began = time.perf_counter()
        predictions = shape(analyze(data, models)).as_json()
        metrics = evaluate(folder, read_truth(folder), predictions)
        metrics["analysis_seconds"] = time.perf_counter() - began
        return metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[301, 302, 303])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--generator", choices=sorted(GENERATORS), default="project")
    parser.add_argument("--families", nargs="+", default=None)
    parser.add_argument("--view", choices=sorted(VIEWS), default="waves")
    args = parser.parse_args()
    families = args.families or list(GENERATORS[args.generator][1])
    columns, short = VIEWS[args.view]
    print(f"{'family':14s} " + " ".join(f"{s:>11s}" for s in short))
    everything: list[dict[str, Any]] = []
    for family in families:
        runs = [run(family, seed, args.scale, generator=args.generator) for seed in args.seeds]
        everything += runs
        means = [np.mean([r[c] for r in runs if r[c] is not None] or [np.nan]) for c in columns]
        print(f"{family:14s} " + " ".join(f"{m:11.4f}" for m in means), flush=True)
    print(f"{'worst':14s} " + " ".join(f"{_worst(everything, c):11.4f}" for c in columns))
    misses = [c for c in columns if meets_target(c, _worst(everything, c)) is False]
    print(
        "targets:",
        ", ".join(f"{c} {TARGETS[c][0]} {TARGETS[c][1]}" for c in columns if c in TARGETS),
    )
    print("missed (worst run):", ", ".join(misses) if misses else "none")


def _worst(runs: list[dict[str, Any]], column: str) -> float:
    values = [r[column] for r in runs if r[column] is not None]
    if not values:
        return float("nan")
    # Without a target, higher is better (precision, recall).
    lower_is_better = column in TARGETS and TARGETS[column][0] == "<="
    return float(max(values) if lower_is_better else min(values))


if __name__ == "__main__":
    main()
