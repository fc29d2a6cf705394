"""Stage 4: calibrated scores for waves, reporters and targets, and reliability.

- A wave's ``score`` is the wave model's calibrated probability that it was orchestrated.
- A reporter's ``reporter_risk`` comes from the reporter model: the scores of the waves
  it joined, how many flagged waves, its lockstep group, and its track record.
- A target's ``target_risk`` is the score-weighted share of its recent reports (from
  ``TARGET_LOOKBACK_S`` before its latest wave on) that came in orchestrated waves,
  reports outside any wave counting a quarter (they do not trigger automated
  suspensions on their own): how much of what would get it suspended is a campaign.
  The enforcement check holds at 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.detection.data import Data, FloatArray, IntArray, report_verdicts
from app.detection.groups import Groups
from app.detection.model import LogisticModel
from app.detection.signals import SIGNALS, WaveSignals
from app.detection.waves import Waves

PARAMS_DIR = Path(__file__).parent / "params"
WAVE_MODEL = PARAMS_DIR / "wave_model.json"
REPORTER_MODEL = PARAMS_DIR / "reporter_model.json"
TARGET_LOOKBACK_S = 30 * 86_400.0
SCATTERED_WEIGHT = 0.25
FLAG = 0.5

WAVE_FEATURES = SIGNALS
REPORTER_FEATURES = (
    "max_wave_score",
    "mean_wave_score",
    "log_flagged_waves",
    "flagged_report_share",
    "in_group",
    "group_cohesion",
    "unfounded_rate",
    "log_repeat_partners",
)


def wave_features(signals: WaveSignals) -> FloatArray:
    """Signals as the model reads them: durations and ages on a log scale."""
    x = signals.values.copy()
    for name in ("duration_hours", "median_account_age_days"):
        column = SIGNALS.index(name)
        x[:, column] = np.log1p(np.maximum(x[:, column], 0.0))
    return x


@dataclass(frozen=True)
class Reliability:
    """Per account: reports filed, upheld and unfounded by moderators, smoothed score."""

    reports: IntArray
    upheld: IntArray
    unfounded: IntArray

    @property
    def score(self) -> FloatArray:
        """Share of decided reports upheld, with one upheld and one unfounded prior."""
        result: FloatArray = (self.upheld + 1.0) / (self.upheld + self.unfounded + 2.0)
        return result


def reliability(data: Data) -> Reliability:
    """Each report is judged by the first decision on its target made after it."""
    reporter, n = data.reports.reporter, len(data.accounts)
    judged, upheld = report_verdicts(data)
    return Reliability(
        np.bincount(reporter, minlength=n),
        np.bincount(reporter, weights=upheld, minlength=n).astype(np.int64),
        np.bincount(reporter, weights=judged & ~upheld, minlength=n).astype(np.int64),
    )


def reporter_features(
    data: Data,
    waves: Waves,
    wave_score: FloatArray,
    groups: Groups,
    record: Reliability,
    partners: FloatArray,
) -> FloatArray:
    n = len(data.accounts)
    reporter = data.reports.reporter
    member = waves.report_wave >= 0
    score_of_report = np.where(member, wave_score[np.maximum(waves.report_wave, 0)], 0.0)
    max_score = np.zeros(n)
    np.maximum.at(max_score, reporter, score_of_report)
    pairs = np.unique(reporter[member] * max(len(waves), 1) + waves.report_wave[member])
    who, which = pairs // max(len(waves), 1), pairs % max(len(waves), 1)
    wave_count = np.bincount(who, minlength=n)
    mean_score = np.divide(
        np.bincount(who, weights=wave_score[which], minlength=n),
        wave_count,
        out=np.zeros(n),
        where=wave_count > 0,
    )
    flagged_waves = np.bincount(who, weights=(wave_score[which] >= FLAG).astype(float), minlength=n)
    flagged_reports = np.bincount(
        reporter, weights=(score_of_report >= FLAG).astype(float), minlength=n
    )
    filed = np.maximum(record.reports, 1)
    in_group = groups.account_group >= 0
    cohesion = np.where(
        in_group, groups.cohesion[np.maximum(groups.account_group, 0)] if len(groups) else 0.0, 0.0
    )
    unfounded = (record.unfounded + 1.0) / (record.upheld + record.unfounded + 2.0)
    return np.column_stack(
        [
            max_score,
            mean_score,
            np.log1p(flagged_waves),
            flagged_reports / filed,
            in_group.astype(float),
            cohesion,
            unfounded,
            np.log1p(partners),
        ]
    )


def _campaign_weights(
    data: Data, waves: Waves, wave_score: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per report: its weight in a target's recent reports, and that weight times the
    chance it came in an orchestrated wave (see the module docstring)."""
    reports = data.reports
    member = waves.report_wave >= 0
    # "Recent" counts back from the end of the target's latest wave (or, without one,
    # its latest report), however long ago: that pile is what automated rules act on,
    # and a stray report weeks later does not make it old.
    anchor = np.full(len(data.accounts), -np.inf)
    np.maximum.at(anchor, reports.target, reports.time)
    if len(waves):
        wave_end = np.full(len(data.accounts), -np.inf)
        np.maximum.at(wave_end, waves.target, waves.end)
        anchor = np.where(np.isfinite(wave_end), wave_end, anchor)
    recent = reports.time >= anchor[reports.target] - TARGET_LOOKBACK_S
    weight = np.where(member, 1.0, SCATTERED_WEIGHT) * recent
    orchestrated = np.where(member, wave_score[np.maximum(waves.report_wave, 0)], 0.0)
    return weight, weight * orchestrated


def target_risk(data: Data, waves: Waves, wave_score: FloatArray) -> FloatArray:
    """Score-weighted share of each account's recent reports that came in orchestrated
    waves (see the module docstring)."""
    n = len(data.accounts)
    weight, campaign = _campaign_weights(data, waves, wave_score)
    total = np.bincount(data.reports.target, weights=weight, minlength=n)
    hit = np.bincount(data.reports.target, weights=campaign, minlength=n)
    result: FloatArray = np.divide(hit, total, out=np.zeros(n), where=total > 0)
    return result


@dataclass(frozen=True)
class ContentRisk:
    """``target_risk`` of one content item: the same share over the recent reports that
    name it. ``weight`` is how much recent reporting the item drew."""

    target: IntArray
    content: IntArray
    risk: FloatArray
    weight: FloatArray


def content_risk(data: Data, waves: Waves, wave_score: FloatArray) -> ContentRisk:
    reports = data.reports
    weight, campaign = _campaign_weights(data, waves, wave_score)
    named = np.flatnonzero((reports.content >= 0) & (weight > 0))
    width = max(len(data.contents), 1)
    pairs, slot = np.unique(
        reports.target[named] * width + reports.content[named], return_inverse=True
    )
    total = np.bincount(slot.ravel(), weights=weight[named], minlength=len(pairs))
    hit = np.bincount(slot.ravel(), weights=campaign[named], minlength=len(pairs))
    weights = np.asarray(total, dtype=np.float64)
    return ContentRisk(pairs // width, pairs % width, hit / np.maximum(weights, 1e-12), weights)


def load_models() -> tuple[LogisticModel, LogisticModel]:
    return LogisticModel.load(WAVE_MODEL), LogisticModel.load(REPORTER_MODEL)
