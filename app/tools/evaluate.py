"""``mrd evaluate``: score an analysis against a simulated data set's ``truth.json``.

Predictions are in the API's shapes: ``{"waves": [...], "groups": [...], "accounts":
[...]}`` and optionally ``"enforcement": {target_id: "proceed" | "hold_for_review"}``.
They come from a file (``mrd analyze`` output) or from a running service. Every
metric is defined in docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from app.datasets import read_entities

MATCH_SLACK_S = 3_600.0
TIER_CLASSES = ("1", "2", "3", "none")
HOLD = "hold_for_review"


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Span:
    target: str
    start: float
    end: float

    def overlap(self, other: Span) -> float | None:
        """Seconds of overlap (negative within the slack); None if they do not match."""
        if self.target != other.target:
            return None
        if other.start > self.end + MATCH_SLACK_S or other.end < self.start - MATCH_SLACK_S:
            return None
        return min(self.end, other.end) - max(self.start, other.start)


def _span(wave: dict[str, Any]) -> Span:
    return Span(str(wave["target_id"]), _epoch(wave["start"]), _epoch(wave["end"]))


def _is_orchestrated(wave: dict[str, Any]) -> bool:
    if "label" in wave:
        return bool(wave["label"] == "orchestrated")
    return float(wave.get("score", 0.0)) >= 0.5


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def expected_calibration_error(
    labels: np.ndarray, scores: np.ndarray, bins: int = 10
) -> float | None:
    """Mean gap between predicted probability and observed frequency over equal-width bins,
    weighted by how many scores fall in each bin."""
    if len(labels) == 0:
        return None
    which = np.minimum((scores * bins).astype(int), bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.sum() * abs(scores[inside].mean() - labels[inside].mean())
    return float(gap / len(labels))


def _f1(precision: float | None, recall: float | None) -> float:
    if not precision or not recall:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def wave_metrics(
    truth_waves: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Orchestrated-wave recall, organic false alarms, wave precision and attribution."""
    flagged = [(p, _span(p)) for p in predicted if _is_orchestrated(p)]
    by_target: dict[str, list[tuple[dict[str, Any], Span]]] = {}
    for wave, span in flagged:
        by_target.setdefault(span.target, []).append((wave, span))

    def matches(truth: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
        span = _span(truth)
        found = []
        for wave, other in by_target.get(span.target, []):
            overlap = span.overlap(other)
            if overlap is not None:
                found.append((overlap, wave))
        return sorted(found, key=lambda m: (-m[0], -int(m[1].get("report_count", 0))))

    orchestrated = [w for w in truth_waves if w["orchestrated"]]
    organic = [w for w in truth_waves if not w["orchestrated"]]
    detected = sum(1 for w in orchestrated if matches(w))
    false_alarms = sum(1 for w in organic if matches(w))
    truth_spans = [_span(w) for w in orchestrated]
    true_flags = sum(
        1 for _, span in flagged if any(span.overlap(t) is not None for t in truth_spans)
    )
    directed = [w for w in orchestrated if w.get("directive_post_id")]
    attributed = 0
    for wave in directed:
        found = matches(wave)
        leaders = found[0][1].get("orchestrators") if found else None
        if leaders and leaders[0]["account_id"] in wave["orchestrators"]:
            attributed += 1
    return {
        "orchestrated_waves": len(orchestrated),
        "organic_waves": len(organic),
        "predicted_orchestrated_waves": len(flagged),
        "orchestrated_wave_recall": _ratio(detected, len(orchestrated)),
        "organic_false_alarm_rate": _ratio(false_alarms, len(organic)),
        "wave_precision": _ratio(true_flags, len(flagged)),
        "attribution_top1_accuracy": _ratio(attributed, len(directed)),
        "directed_waves": len(directed),
    }


def orchestrator_metrics(truth: dict[str, Any], risk: dict[str, float]) -> dict[str, Any]:
    """Accounts with ``orchestrator_risk`` >= 0.5 that truly directed an orchestrated
    wave by naming its target (precision), and such directors found (recall)."""
    directors = {
        o
        for w in truth["waves"]
        if w["orchestrated"] and w.get("directive_post_id")
        for o in w.get("orchestrators", [])
    }
    flagged = {a for a, r in risk.items() if r >= 0.5}
    return {
        "orchestrator_precision": _ratio(len(flagged & directors), len(flagged)),
        "orchestrator_recall": _ratio(len(flagged & directors), len(directors)),
    }


def enforcement_targets(truth: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Victims (targets of orchestrated waves) and violators (targets of organic waves,
    official accounts included); a target of both kinds is left out of both."""
    victims = {w["target_id"] for w in truth["waves"] if w["orchestrated"]}
    violators = {w["target_id"] for w in truth["waves"] if not w["orchestrated"]}
    both = victims & violators
    return sorted(victims - both), sorted(violators - both)


def enforcement_metrics(truth: dict[str, Any], actions: dict[str, str]) -> dict[str, Any]:
    victims, violators = enforcement_targets(truth)
    let_through = sum(1 for v in victims if actions.get(v, "proceed") != HOLD)
    held = sum(1 for v in violators if actions.get(v, "proceed") == HOLD)
    return {
        "victims_checked": len(victims),
        "violators_checked": len(violators),
        "wrongful_suspension_rate": _ratio(let_through, len(victims)),
        "shielded_violator_rate": _ratio(held, len(violators)),
    }


def reporter_metrics(
    reporters: Iterable[str], truth: dict[str, Any], risk: dict[str, float]
) -> dict[str, Any]:
    universe = sorted(set(reporters))
    positive = set(truth["orchestrated_reporters"])
    labels = np.array([a in positive for a in universe], dtype=bool)
    scores = np.clip(np.array([float(risk.get(a, 0.0)) for a in universe]), 0.0, 1.0)
    flagged = scores >= 0.5
    true_positive = int((flagged & labels).sum())
    return {
        "reporters": len(universe),
        "coordinated_reporters": int(labels.sum()),
        "reporter_roc_auc": roc_auc(labels, scores),
        "reporter_precision_at_0_5": _ratio(true_positive, int(flagged.sum())),
        "reporter_recall_at_0_5": _ratio(true_positive, int(labels.sum())),
        "reporter_calibration_error": expected_calibration_error(labels.astype(float), scores),
    }


def tier_metrics(
    accounts: Iterable[str], truth: dict[str, Any], predicted: dict[str, Any]
) -> dict[str, Any]:
    universe = sorted(set(accounts) | set(truth["tiers"]))
    actual = [str(truth["tiers"].get(a, "none")) for a in universe]
    guess = [str(predicted.get(a) or "none") for a in universe]
    result: dict[str, Any] = {}
    f1s = []
    for tier in TIER_CLASSES:
        hits = sum(1 for t, g in zip(actual, guess, strict=True) if t == g == tier)
        precision = _ratio(hits, guess.count(tier))
        recall = _ratio(hits, actual.count(tier))
        result[f"tier_{tier}_precision"] = precision
        result[f"tier_{tier}_recall"] = recall
        f1s.append(_f1(precision, recall))
    result["tier_macro_f1"] = float(np.mean(f1s))
    return result


def tier_calibration(
    truth: dict[str, Any], members: dict[str, tuple[int, float]]
) -> dict[str, Any]:
    """Calibration error of ``tier_confidence`` over the accounts put in a tier
    (``members``: account -> (tier, confidence)): is the tier right about as often as
    the confidence says?"""
    if not members:
        return {"tier_calibration_error": None}
    right = [float(truth["tiers"].get(a) == tier) for a, (tier, _) in members.items()]
    said = [confidence for _, confidence in members.values()]
    return {"tier_calibration_error": expected_calibration_error(np.array(right), np.array(said))}


def bystander_metrics(truth: dict[str, Any], members: dict[str, float]) -> dict[str, Any]:
    """How many accounts that are not in the network were put in a tier at confidence
    >= 0.5 (``members``: account -> tier confidence): bystanders (journalists,
    researchers, outlets, monitors, users who retweeted an official post), victims,
    lookalike sign-ups and wrongly labelled accounts. Worlds without them give None."""
    groups = {
        "bystanders_in_tiers": [b["account_id"] for b in truth.get("bystanders", [])],
        "victims_in_tiers": list(truth.get("victims", [])),
        "lookalikes_in_tiers": list(truth.get("lookalikes", [])),
        "wrongly_labelled_in_tiers": list(truth.get("wrongly_labelled", [])),
    }
    return {
        name: (sum(1 for a in accounts if members.get(a, 0.0) >= 0.5) if accounts else None)
        for name, accounts in groups.items()
    }


def recreation_metrics(truth: dict[str, Any], predicted: dict[str, str]) -> dict[str, Any]:
    expected = {(p["account_id"], p["recreated_from"]) for p in truth["recreated"]}
    found = set(predicted.items())
    hits = len(expected & found)
    lookalikes = set(truth.get("lookalikes", []))
    return {
        "recreated_pairs": len(expected),
        "lookalikes_linked": sum(1 for a in found if a[0] in lookalikes) if lookalikes else None,
        "recreation_precision": _ratio(hits, len(found)),
        "recreation_recall": _ratio(hits, len(expected)),
    }


def evaluate(folder: Path, truth: dict[str, Any], predictions: dict[str, Any]) -> dict[str, Any]:
    """Every metric of the data set in ``folder`` for ``predictions``."""
    reporters: set[str] = set()
    for report in read_entities(folder, "reports"):
        reporters.add(str(report["reporter_id"]))
    accounts = {str(a["account_id"]) for a in read_entities(folder, "accounts")}
    risks = {str(a["account_id"]): a for a in predictions.get("accounts", [])}
    actions = dict(predictions.get("enforcement") or {})
    if not actions:
        actions = {
            a: HOLD if float(r.get("target_risk") or 0.0) >= 0.5 else "proceed"
            for a, r in risks.items()
        }
    return {
        "scenario": truth.get("scenario"),
        "seed": truth.get("seed"),
        "scale": truth.get("scale"),
        **wave_metrics(truth["waves"], predictions.get("waves", [])),
        **enforcement_metrics(truth, actions),
        **reporter_metrics(
            reporters, truth, {a: r.get("reporter_risk") or 0.0 for a, r in risks.items()}
        ),
        **tier_metrics(accounts, truth, {a: r.get("tier") for a, r in risks.items()}),
        **tier_calibration(
            truth,
            {
                a: (int(r["tier"]), float(r.get("tier_confidence") or 0.0))
                for a, r in risks.items()
                if r.get("tier")
            },
        ),
        **bystander_metrics(
            truth,
            {a: float(r.get("tier_confidence") or 0.0) for a, r in risks.items() if r.get("tier")},
        ),
        **recreation_metrics(
            truth,
            {a: str(r["recreated_from"]) for a, r in risks.items() if r.get("recreated_from")},
        ),
        **orchestrator_metrics(
            truth, {a: float(r.get("orchestrator_risk") or 0.0) for a, r in risks.items()}
        ),
    }


def _pages(client: Any, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=params)
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def fetch_predictions(client: Any, folder: Path, truth: dict[str, Any]) -> dict[str, Any]:
    """Read a running service's answers: every wave, the risk of every account of the
    data set, and the enforcement check of every victim and violator."""
    accounts = {str(a["account_id"]) for a in read_entities(folder, "accounts")}
    accounts |= {str(r["reporter_id"]) for r in read_entities(folder, "reports")}
    accounts |= set(truth["tiers"])
    ordered = sorted(accounts)
    risks: list[dict[str, Any]] = []
    for start in range(0, len(ordered), 1000):
        response = client.post(
            "/v1/accounts/risk", json={"account_ids": ordered[start : start + 1000]}
        )
        response.raise_for_status()
        risks += response.json()["items"]
    victims, violators = enforcement_targets(truth)
    actions = {}
    for target in victims + violators:
        response = client.post("/v1/enforcement/check", json={"target_id": target})
        response.raise_for_status()
        actions[target] = response.json()["action"]
    return {"waves": _pages(client, "/v1/waves"), "accounts": risks, "enforcement": actions}


# What the project's issues ask of the detector, shown beside the figures.
TARGETS: dict[str, tuple[str, float]] = {
    "orchestrated_wave_recall": (">=", 0.95),
    "organic_false_alarm_rate": ("<=", 0.02),
    "wave_precision": (">=", 0.97),
    "wrongful_suspension_rate": ("<=", 0.02),
    "shielded_violator_rate": ("<=", 0.02),
    "reporter_roc_auc": (">=", 0.98),
    "reporter_calibration_error": ("<=", 0.05),
    "tier_macro_f1": (">=", 0.90),
    "tier_1_precision": (">=", 0.90),
    "tier_2_precision": (">=", 0.90),
    "attribution_top1_accuracy": (">=", 0.85),
    "recreation_precision": (">=", 0.95),
    "recreation_recall": (">=", 0.80),
    "tier_calibration_error": ("<=", 0.05),
    "tier_3_precision": (">=", 0.95),
    "tier_3_recall": (">=", 0.90),
    "bystanders_in_tiers": ("<=", 0),
    "victims_in_tiers": ("<=", 0),
    "lookalikes_in_tiers": ("<=", 0),
    "wrongly_labelled_in_tiers": ("<=", 0),
    "lookalikes_linked": ("<=", 0),
}


def meets_target(metric: str, value: float | None) -> bool | None:
    if metric not in TARGETS or value is None:
        return None
    op, bound = TARGETS[metric]
    return value >= bound if op == ">=" else value <= bound
