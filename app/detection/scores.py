"""Stage 4: calibrated scores for waves, reporters and targets, and reliability.

- A wave's ``score`` is the wave model's calibrated probability that it was orchestrated.
- A reporter's ``reporter_risk`` comes from the reporter model: the scores of the waves
  it joined, how many flagged waves, how often it had seen the target's content when
  it reported in them, its lockstep group, and its track record.
- A target's ``target_risk`` is the score-weighted share of the reports of its recent
  waves (those that ended at most ``lookback_s``, by default ``TARGET_LOOKBACK_S``,
  before its latest one) that
  came in orchestrated waves. Reports outside waves are the account's ordinary
  baseline: they are not what makes automated rules suspend it, so they do not count;
  how much of what would get it suspended is a campaign. A share can be diluted: a
  brigade that adds ordinary-looking reports lowers it. So ``target_risk`` is the
  larger of that share and ``core_risk``, the highest core-model score of the
  target's recent core waves (core.py), which only reports by accounts that took part
  in orchestrated waves elsewhere can move. More reports from anyone else never lower
  it. The enforcement check holds at 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from app.detection.data import BoolArray, Data, FloatArray, IntArray, distinct, report_verdicts
from app.detection.graph import followee_lists
from app.detection.groups import Groups
from app.detection.model import LogisticModel
from app.detection.signals import SIGNALS, WaveSignals
from app.detection.waves import Waves

if TYPE_CHECKING:
    from app.detection.engine import Engine

PARAMS_DIR = Path(__file__).parent / "params"
WAVE_MODEL = PARAMS_DIR / "wave_model.json"
REPORTER_MODEL = PARAMS_DIR / "reporter_model.json"
CORE_MODEL = PARAMS_DIR / "core_model.json"
TIER_MODEL = PARAMS_DIR / "tier_model.json"
TARGET_LOOKBACK_S = 30 * 86_400.0
FLAG = 0.5
PUBLISHED_DECIMALS = 4

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
    "flagged_exposed_share",
)


# Signals the models read as log(1 + value): durations and ages span orders of magnitude.
LOG_SCALED = ("duration_hours", "median_account_age_days")


def wave_features(signals: WaveSignals) -> FloatArray:
    """Signals as the model reads them: durations and ages on a log scale."""
    x = signals.values.copy()
    for name in LOG_SCALED:
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
    exposed: FloatArray,
) -> FloatArray:
    n = len(data.accounts)
    reporter = data.reports.reporter
    member = waves.report_wave >= 0
    # A sentinel 0 after the real scores: reports outside waves (and data with no
    # waves at all) index it.
    score_of_report = np.append(wave_score, 0.0)[waves.report_wave]
    max_score = np.zeros(n)
    np.maximum.at(max_score, reporter, score_of_report)
    pairs = distinct(reporter[member] * max(len(waves), 1) + waves.report_wave[member])
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
            exposed,
        ]
    )


def exposed_in_flagged(
    data: Data,
    waves: Waves,
    wave_score: FloatArray,
    engine: Engine,
    known: tuple[IntArray, BoolArray] | None = None,
) -> tuple[IntArray, BoolArray]:
    """The reports in waves scored orchestrated, and for each whether its reporter had
    seen the target's content (graph.exposure: it follows, engaged with or reshared
    the target, or follows someone who reshared it; edges of any date). Reports in
    ``known`` (an earlier answer, e.g. before the core lifted some waves) are not
    looked up again."""
    reports = data.reports
    rows = np.flatnonzero(np.append(wave_score, 0.0)[waves.report_wave] >= FLAG)
    seen = np.zeros(len(rows), dtype=bool)
    new = np.ones(len(rows), dtype=bool)
    if known is not None and len(known[0]) and len(rows):
        known_rows, known_seen = known
        slot = np.minimum(np.searchsorted(known_rows, rows), len(known_rows) - 1)
        found = known_rows[slot] == rows
        seen[found] = known_seen[slot[found]]
        new = ~found
    if new.any():
        asked = rows[new]
        seen[new] = engine.exposure(
            data, followee_lists(data), reports.reporter[asked], reports.target[asked]
        )
    return rows, seen


def flagged_exposure(data: Data, exposed: tuple[IntArray, BoolArray]) -> FloatArray:
    """Per account: the share of its reports in waves scored orchestrated that it filed
    having seen the target's content (``exposed_in_flagged``); 0 without such reports.
    A follower who reports a victim while a brigade strikes it was reached by the
    victim's own posts; a brigade's crowd was told. One wave's membership cannot tell
    the two apart, this can."""
    n = len(data.accounts)
    rows, seen = exposed
    who = data.reports.reporter[rows]
    flagged = np.bincount(who, minlength=n)
    share: FloatArray = np.divide(
        np.bincount(who, weights=seen.astype(float), minlength=n),
        flagged,
        out=np.zeros(n),
        where=flagged > 0,
    )
    return share


def _campaign_weights(
    data: Data, waves: Waves, wave_score: FloatArray, lookback_s: float
) -> tuple[FloatArray, FloatArray]:
    """Per report: 1 if it came in one of its target's recent waves, else 0; and that
    times the wave's score (see the module docstring). Recent counts back from the
    target's latest wave however long ago: that pile is what automated rules act on."""
    n_reports = len(data.reports)
    if len(waves) == 0:
        return np.zeros(n_reports), np.zeros(n_reports)
    latest_end = np.full(len(data.accounts), -np.inf)
    np.maximum.at(latest_end, waves.target, waves.end)
    recent_wave = waves.end >= latest_end[waves.target] - lookback_s
    wave = np.maximum(waves.report_wave, 0)
    weight = ((waves.report_wave >= 0) & recent_wave[wave]).astype(np.float64)
    return weight, weight * wave_score[wave]


def campaign_share(
    data: Data, waves: Waves, wave_score: FloatArray, lookback_s: float = TARGET_LOOKBACK_S
) -> FloatArray:
    """Score-weighted share of each account's recent reports that came in orchestrated
    waves (see the module docstring)."""
    n = len(data.accounts)
    weight, campaign = _campaign_weights(data, waves, wave_score, lookback_s)
    total = np.bincount(data.reports.target, weights=weight, minlength=n)
    hit = np.bincount(data.reports.target, weights=campaign, minlength=n)
    result: FloatArray = np.divide(hit, total, out=np.zeros(n), where=total > 0)
    return result


def core_evidence(
    n_accounts: int, core: Waves, core_score: FloatArray, lookback_s: float = TARGET_LOOKBACK_S
) -> FloatArray:
    """Per account, the highest score of its recent core waves: those that ended at most
    ``lookback_s`` before its latest orchestrated core wave (score >= ``FLAG``) or, with
    none, before its latest scored one (of two or more accounts; one account alone
    scores 0 and moves nothing). Counted back from the core's own waves, so reports
    outside the core, however many and whenever, change nothing; and anchored on an
    orchestrated core wave, so later weak strikes by core accounts cannot push it out
    of the window either: evidence at or above ``FLAG`` only ever moves to a newer
    orchestrated core wave."""
    evidence = np.zeros(n_accounts)
    scored = np.flatnonzero(core_score > 0)
    if len(scored) == 0:
        return evidence
    target, end = core.target[scored], core.end[scored]
    latest_scored = np.full(n_accounts, -np.inf)
    np.maximum.at(latest_scored, target, end)
    orchestrated = core_score[scored] >= FLAG
    latest_orchestrated = np.full(n_accounts, -np.inf)
    np.maximum.at(latest_orchestrated, target[orchestrated], end[orchestrated])
    anchor = np.where(np.isfinite(latest_orchestrated), latest_orchestrated, latest_scored)
    recent = scored[end >= anchor[target] - lookback_s]
    np.maximum.at(evidence, core.target[recent], core_score[recent])
    return evidence


@dataclass(frozen=True)
class ContentRisk:
    """``target_risk`` of one content item: the same share over the recent reports that
    name it. ``weight`` is how much recent reporting the item drew."""

    target: IntArray
    content: IntArray
    risk: FloatArray
    weight: FloatArray


def content_risk(
    data: Data, waves: Waves, wave_score: FloatArray, lookback_s: float = TARGET_LOOKBACK_S
) -> ContentRisk:
    reports = data.reports
    weight, campaign = _campaign_weights(data, waves, wave_score, lookback_s)
    named = np.flatnonzero((reports.content >= 0) & (weight > 0))
    width = max(len(data.contents), 1)
    pairs, slot = np.unique(
        reports.target[named] * width + reports.content[named], return_inverse=True
    )
    total = np.bincount(slot.ravel(), weights=weight[named], minlength=len(pairs))
    hit = np.bincount(slot.ravel(), weights=campaign[named], minlength=len(pairs))
    weights = np.asarray(total, dtype=np.float64)
    return ContentRisk(pairs // width, pairs % width, hit / np.maximum(weights, 1e-12), weights)


def published(scores: FloatArray) -> FloatArray:
    """Scores as the API shows them, rounded to ``PUBLISHED_DECIMALS``: every decision
    (a wave's label, a hold) is taken on the value a reader sees."""
    result: FloatArray = np.round(scores, PUBLISHED_DECIMALS)
    return result


class Models(NamedTuple):
    """The fitted models: waves, reporters, core waves (core.py) and tiers (network.py)."""

    wave: LogisticModel
    reporter: LogisticModel
    core: LogisticModel
    # None only while the tier model itself is being fitted (its inputs come first).
    tier: LogisticModel | None = None


def load_models() -> Models:
    return Models(
        LogisticModel.load(WAVE_MODEL),
        LogisticModel.load(REPORTER_MODEL),
        LogisticModel.load(CORE_MODEL),
        LogisticModel.load(TIER_MODEL),
    )
