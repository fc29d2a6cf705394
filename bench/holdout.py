"""Leave one family out: fit the models without a scenario family, then score on it.

    python -m bench.holdout [--seeds 301 302] [--train-seeds 101 102] [--calibration-seeds 201]

The detector will meet kinds of campaign it was never fitted on; this shows how it
fares on each of the project's families when that family was left out of fitting and
calibration altogether (fewer seeds than the shipped models, to keep it quick).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from app.tools.simulate import SCENARIOS
from app.tools.simulate.scenarios import SIZE_VARIANTS
from app.tools.training import fit_models, simulate_samples, worlds
from bench.quality import COLUMNS, SHORT, run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[301, 302])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[101, 102])
    parser.add_argument("--calibration-seeds", type=int, nargs="+", default=[201])
    args = parser.parse_args()
    families = [f for f in SCENARIOS if f not in SIZE_VARIANTS]
    train = {f: simulate_samples(worlds([f], args.train_seeds, range(0)), 1.0) for f in families}
    calibration = {
        f: simulate_samples(worlds([f], args.calibration_seeds, range(0)), 1.0) for f in families
    }
    rows: list[tuple[str, list[float]]] = []
    for held_out in families:
        others = [f for f in families if f != held_out]
        models = fit_models(
            [s for f in others for s in train[f]],
            [s for f in others for s in calibration[f]],
            {"held_out": held_out},
        )
        runs: list[dict[str, Any]] = [run(held_out, seed, 1.0, models) for seed in args.seeds]
        means = [
            float(np.mean([r[c] for r in runs if r[c] is not None] or [np.nan])) for c in COLUMNS
        ]
        rows.append((held_out, means))
    print(f"{'held out':14s} " + " ".join(f"{s:>11s}" for s in SHORT))
    for family, means in rows:
        print(f"{family:14s} " + " ".join(f"{m:11.4f}" for m in means))


if __name__ == "__main__":
    main()
