"""A small logistic model with Platt calibration, fitted and stored as plain numbers.

Fitting spreads the weight over several signals on purpose ("mimicry"): each
training row is also seen in copies where random signals take the value they have
in a random row of the other class. An orchestrated wave whose crowd used old
accounts, their own words and orders given elsewhere must still be found from the
signals it could not fake; an organic wave with one or two odd signals must not be
flagged. So the model cannot lean on the signals a new adversary can simply stop
emitting. Weights are L2-regularised on standardised inputs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from app.detection.data import FloatArray


@dataclass(frozen=True)
class LogisticModel:
    """Logistic regression over hinge features: each signal ``x`` enters as the two
    parts ``max(0, x - c)`` and ``max(0, c - x)`` around ``c``, its median in the
    negative class. So a signal can count for orchestration when it is far out on one
    side and hardly at all when it merely looks ordinary: a crowd that wrote its own
    words is not thereby organic."""

    features: tuple[str, ...]
    centre: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    platt_slope: float = 1.0
    platt_intercept: float = 0.0
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def standardised(self, x: FloatArray) -> FloatArray:
        z: FloatArray = (hinges(x, np.asarray(self.centre)) - np.asarray(self.mean)) / np.asarray(
            self.scale
        )
        return z

    def logit(self, x: FloatArray) -> FloatArray:
        raw: FloatArray = self.standardised(x) @ np.asarray(self.weights) + self.intercept
        return raw

    def probability(self, x: FloatArray) -> FloatArray:
        """Calibrated probability of the positive class for each row of ``x``."""
        calibrated = self.platt_slope * self.logit(x) + self.platt_intercept
        result: FloatArray = 1.0 / (1.0 + np.exp(-calibrated))
        return result

    def contributions(self, x: FloatArray) -> FloatArray:
        """Each signal's share of the calibrated logit, row by row (for explanations)."""
        parts = self.standardised(x) * np.asarray(self.weights) * self.platt_slope
        n = len(self.features)
        result: FloatArray = parts[:, :n] + parts[:, n:]
        return result

    def digest(self) -> str:
        """A short digest of everything fitted: two models with the same digest score
        alike (a run records the digests of the models it used)."""
        body = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> LogisticModel:
        raw = json.loads(path.read_text())
        return cls(
            features=tuple(raw["features"]),
            centre=tuple(raw["centre"]),
            mean=tuple(raw["mean"]),
            scale=tuple(raw["scale"]),
            weights=tuple(raw["weights"]),
            intercept=float(raw["intercept"]),
            platt_slope=float(raw["platt_slope"]),
            platt_intercept=float(raw["platt_intercept"]),
            fitted_on=dict(raw.get("fitted_on", {})),
        )


def hinges(x: FloatArray, centre: FloatArray) -> FloatArray:
    """Each column split into its parts above and below ``centre``."""
    above = np.maximum(x - centre, 0.0)
    below = np.maximum(centre - x, 0.0)
    result: FloatArray = np.hstack([above, below])
    return result


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


def with_mimicry(
    x: FloatArray,
    y: FloatArray,
    rates: tuple[float, float],
    copies: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """The rows, and ``copies`` copies of them in which each signal of a positive
    (negative) row takes, with probability ``rates[0]`` (``rates[1]``), its value in a
    random row of the other class."""
    positive, negative = x[y == 1], x[y == 0]
    rows, labels = [x], [y]
    for _ in range(copies):
        for own, other, rate, label in (
            (positive, negative, rates[0], 1.0),
            (negative, positive, rates[1], 0.0),
        ):
            if len(own) == 0 or len(other) == 0:
                continue
            donor = other[rng.integers(len(other), size=len(own))]
            rows.append(np.where(rng.random(own.shape) < rate, donor, own))
            labels.append(np.full(len(own), label))
    return np.vstack(rows), np.concatenate(labels)


def fit_model(
    features: tuple[str, ...],
    x: FloatArray,
    y: FloatArray,
    x_calibration: FloatArray,
    y_calibration: FloatArray,
    l2: float = 1.0,
    mimicry: tuple[float, float] = (0.5, 0.15),
    copies: int = 6,
    seed: int = 0,
    fitted_on: dict[str, Any] | None = None,
) -> LogisticModel:
    """Fit on (x, y) with mimicry copies, then Platt-calibrate on the held-out rows and
    one mimicry copy of them: probabilities hold for adversaries that look organic on
    half their signals as well as for the ones seen."""
    rng = np.random.default_rng(seed)
    negative = x[y == 0]
    centre = np.median(negative, axis=0) if len(negative) else np.median(x, axis=0)
    augmented, target = with_mimicry(x, y, mimicry, copies, rng)
    balance = np.where(
        target == 1, 0.5 / max(target.mean(), 1e-9), 0.5 / max(1 - target.mean(), 1e-9)
    )
    expanded = hinges(augmented, centre)
    mean = expanded.mean(axis=0)
    scale = expanded.std(axis=0)
    scale[scale == 0] = 1.0
    weights, intercept = _fit_logistic((expanded - mean) / scale, target, l2, balance)
    model = LogisticModel(
        features,
        tuple(centre.tolist()),
        tuple(mean.tolist()),
        tuple(scale.tolist()),
        tuple(weights.tolist()),
        intercept,
    )
    x_held, y_held = with_mimicry(x_calibration, y_calibration, mimicry, 1, rng)
    slope, offset = _fit_logistic(model.logit(x_held)[:, None], y_held, 1e-3, np.ones(len(y_held)))
    return LogisticModel(
        model.features,
        model.centre,
        model.mean,
        model.scale,
        model.weights,
        model.intercept,
        float(slope[0]),
        offset,
        fitted_on or {},
    )
