"""A small logistic model with Platt calibration, fitted and stored as plain numbers.

Fitting spreads the weight over several signals on purpose: each training row is
also seen in copies where random signals are blanked to the population median
("signal dropout"), so the model cannot lean on one signal that a new adversary
could simply stop emitting. Weights are L2-regularised on standardised inputs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from app.detection.data import FloatArray


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    platt_slope: float = 1.0
    platt_intercept: float = 0.0
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def logit(self, x: FloatArray) -> FloatArray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        raw: FloatArray = z @ np.asarray(self.weights) + self.intercept
        return raw

    def probability(self, x: FloatArray) -> FloatArray:
        """Calibrated probability of the positive class for each row of ``x``."""
        calibrated = self.platt_slope * self.logit(x) + self.platt_intercept
        result: FloatArray = 1.0 / (1.0 + np.exp(-calibrated))
        return result

    def contributions(self, x: FloatArray) -> FloatArray:
        """Each signal's share of the logit, row by row (for explanations)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        result: FloatArray = z * np.asarray(self.weights) * self.platt_slope
        return result

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> LogisticModel:
        raw = json.loads(path.read_text())
        return cls(
            features=tuple(raw["features"]),
            mean=tuple(raw["mean"]),
            scale=tuple(raw["scale"]),
            weights=tuple(raw["weights"]),
            intercept=float(raw["intercept"]),
            platt_slope=float(raw["platt_slope"]),
            platt_intercept=float(raw["platt_intercept"]),
            fitted_on=dict(raw.get("fitted_on", {})),
        )


def _fit_logistic(
    z: FloatArray, y: FloatArray, l2: float, sample_weight: FloatArray
) -> tuple[FloatArray, float]:
    def loss(theta: FloatArray) -> tuple[float, FloatArray]:
        w, b = theta[:-1], theta[-1]
        logits = z @ w + b
        p = 1.0 / (1.0 + np.exp(-logits))
        eps = 1e-12
        nll = -np.sum(sample_weight * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        grad_logit = sample_weight * (p - y)
        grad = np.concatenate([z.T @ grad_logit + 2 * l2 * w, [grad_logit.sum()]])
        return float(nll + l2 * np.sum(w * w)), grad

    theta0 = np.zeros(z.shape[1] + 1)
    solution = minimize(loss, theta0, jac=True, method="L-BFGS-B")
    return solution.x[:-1], float(solution.x[-1])


def fit_model(
    features: tuple[str, ...],
    x: FloatArray,
    y: FloatArray,
    x_calibration: FloatArray,
    y_calibration: FloatArray,
    l2: float = 1.0,
    dropout: float = 0.3,
    copies: int = 4,
    seed: int = 0,
    fitted_on: dict[str, Any] | None = None,
) -> LogisticModel:
    """Fit on (x, y) with signal dropout, then Platt-calibrate on held-out rows."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    median = np.median(x, axis=0)
    rows = [x]
    for _ in range(copies):
        blank = rng.random(x.shape) < dropout
        rows.append(np.where(blank, median, x))
    augmented = np.vstack(rows)
    labels = np.tile(y, copies + 1)
    balance = np.where(
        labels == 1, 0.5 / max(labels.mean(), 1e-9), 0.5 / max(1 - labels.mean(), 1e-9)
    )
    weights, intercept = _fit_logistic((augmented - mean) / scale, labels, l2, balance)
    model = LogisticModel(
        features, tuple(mean.tolist()), tuple(scale.tolist()), tuple(weights.tolist()), intercept
    )
    slope, offset = _fit_logistic(
        model.logit(x_calibration)[:, None], y_calibration, 1e-3, np.ones(len(y_calibration))
    )
    return LogisticModel(
        model.features,
        model.mean,
        model.scale,
        model.weights,
        model.intercept,
        float(slope[0]),
        offset,
        fitted_on or {},
    )
