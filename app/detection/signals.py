"""Stage 2: signals that explain each wave, each a plain number with a name.

Organic reporters saw the content: they follow the target or someone who shared it,
they are diverse, mostly old accounts, and write their own words. Directed reporters
were told: they follow the account that named the target, follow the same hub, are
often new, repeat the campaign's reason and text, and strike other targets together.
No single signal decides; the score stage weighs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix

from app.detection.data import (
    BoolArray,
    Data,
    FloatArray,
    IntArray,
    distinct,
    report_verdicts,
)
from app.detection.graph import followee_lists, neighbours_of, pair_keys
from app.detection.waves import Waves

if TYPE_CHECKING:
    from app.detection.engine import Engine

DAY = 86_400.0
# By default, how long before a report an account naming the target counts as its
# directive (``DetectionParams.attribution.directive_window_s``).
DIRECTIVE_WINDOW_S = 3 * DAY

SIGNALS = (
    "log_reports",
    "peak_hour_share",
    "duration_hours",
    "new_account_share",
    "median_account_age_days",
    "exposure_share",
    "directed_share",
    "follow_within_share",
    "common_upstream_share",
    "unexposed_fan_share",
    "reason_concentration",
    "duplicate_text_share",
    "repeat_overlap",
    "lockstep_share",
    "unfounded_rate",
)


# One line each, for the people who read them (API, dashboard tooltips, docs).
SIGNAL_DEFINITIONS: dict[str, str] = {
    "log_reports": "log(1 + the wave's reports): its size on a log scale.",
    "peak_hour_share": "Share of the wave's reports that arrived in its busiest hour.",
    "duration_hours": "Hours from the wave's first report to its last.",
    "new_account_share": "Share of reporters whose account was under 30 days old.",
    "median_account_age_days": "Reporters' median account age, in days, at their report.",
    "exposure_share": "Share of reporters who had seen the target's own content: they "
    "follow it, engaged with it, or follow someone who reshared it.",
    "directed_share": "Share of reporters who follow an account that named the target in "
    "a post in the three days before their report.",
    "follow_within_share": "Share of reporters who follow another reporter of the wave.",
    "common_upstream_share": "Largest share of reporters that follow one and the same "
    "account (the target excepted).",
    "unexposed_fan_share": "Share of reporters who follow that most-followed account yet "
    "never saw the target's content: told, not shown.",
    "reason_concentration": "Share of reports that give the most common reason.",
    "duplicate_text_share": "Share of report texts in the largest cluster of near-identical texts.",
    "repeat_overlap": "How much more of the crowd struck together in one other wave, on "
    "another target, than chance would put there.",
    "lockstep_share": "Share of reporters in a lockstep group: accounts that struck other "
    "targets together before.",
    "unfounded_rate": "Reporters' share of unfounded reports on other targets (moderator "
    "decisions), 0.5 with none decided.",
}


@dataclass(frozen=True)
class WaveSignals:
    """One row per wave, one column per name in ``SIGNALS``."""

    values: FloatArray

    def column(self, name: str) -> FloatArray:
        column: FloatArray = self.values[:, SIGNALS.index(name)]
        return column


def directive_times(data: Data, followers: csr_matrix) -> tuple[IntArray, FloatArray]:
    """(follower, named target) keys with the earliest time an account they follow named
    the target in a post (a mention or a reply)."""
    n = len(data.accounts)
    posts = data.posts
    author = posts.author[posts.mention_post]
    named = posts.mention_account
    when = posts.time[posts.mention_post]
    ok = (author >= 0) & (author != named)
    author, named, when = author[ok], named[ok], when[ok]
    fans, counts = neighbours_of(followers, author)
    keys = pair_keys(fans, np.repeat(named, counts), n)
    times = np.repeat(when, counts)
    order = np.lexsort((times, keys))
    keys, times = keys[order], times[order]
    first = (
        np.concatenate([[True], keys[1:] != keys[:-1]]) if len(keys) else np.empty(0, dtype=bool)
    )
    return keys[first], times[first]


def compute_signals(
    data: Data,
    waves: Waves,
    account_group: IntArray,
    engine: Engine,
    directive_window_s: float = DIRECTIVE_WINDOW_S,
) -> WaveSignals:
    """The value of every signal for every wave."""
    reports, accounts = data.reports, data.accounts
    n_accounts, n_waves = len(accounts), len(waves)
    values = np.zeros((n_waves, len(SIGNALS)))
    if n_waves == 0:
        return WaveSignals(values)
    in_wave = np.flatnonzero(waves.report_wave >= 0)
    wave = waves.report_wave[in_wave]
    order = np.lexsort((reports.time[in_wave], wave))
    in_wave, wave = in_wave[order], wave[order]
    reporter = reports.reporter[in_wave]
    time = reports.time[in_wave]
    target = reports.target[in_wave]
    bounds = np.searchsorted(wave, np.arange(n_waves + 1))
    counts = np.diff(bounds).astype(float)

    def per_wave_mean(x: FloatArray, mask: np.ndarray | None = None) -> FloatArray:
        weight = np.ones(len(x)) if mask is None else mask.astype(float)
        total = np.bincount(wave, weights=x * weight, minlength=n_waves)
        seen = np.bincount(wave, weights=weight, minlength=n_waves)
        result: FloatArray = np.divide(total, seen, out=np.zeros(n_waves), where=seen > 0)
        return result

    column = {name: i for i, name in enumerate(SIGNALS)}
    values[:, column["log_reports"]] = np.log1p(counts)
    values[:, column["duration_hours"]] = (waves.end - waves.start) / 3600.0
    hour_end = np.searchsorted(wave * 1e12 + time, wave * 1e12 + time + 3600.0)
    in_hour = hour_end - np.arange(len(time))
    if len(time):
        peak = np.maximum.reduceat(in_hour, np.minimum(bounds[:-1], len(time) - 1))
        values[:, column["peak_hour_share"]] = peak / np.maximum(counts, 1)

    age = (time - accounts.created[reporter]) / DAY
    known = ~np.isnan(age)
    age_known = np.where(known, age, 0.0)
    values[:, column["new_account_share"]] = per_wave_mean((age_known < 30).astype(float), known)
    median_age = np.zeros(n_waves)
    for w in range(n_waves):
        ages = age[bounds[w] : bounds[w + 1]]
        ages = ages[~np.isnan(ages)]
        median_age[w] = float(np.median(ages)) if len(ages) else 3650.0
    values[:, column["median_account_age_days"]] = median_age

    pair = pair_keys(reporter, target, n_accounts)
    followees = followee_lists(data)
    exposed = engine.exposure(data, followees, reporter, target)
    values[:, column["exposure_share"]] = per_wave_mean(exposed.astype(float))
    followers = followees.T.tocsr()
    directive_keys, directive_at = directive_times(data, followers)
    slot = np.searchsorted(directive_keys, pair)
    slot = np.minimum(slot, max(len(directive_keys) - 1, 0))
    told = (
        (directive_keys[slot] == pair)
        & (directive_at[slot] <= time)
        & (time - directive_at[slot] < directive_window_s)
        if len(directive_keys)
        else np.zeros(len(pair), dtype=bool)
    )
    values[:, column["directed_share"]] = per_wave_mean(told.astype(float))

    _graph_signals(followees, reporter, target, exposed, bounds, values, column)
    _reason_and_text(data, engine, in_wave, wave, bounds, values, column)
    values[:, column["repeat_overlap"]] = _repeat_overlap(wave, reporter, waves, n_accounts)
    values[:, column["lockstep_share"]] = per_wave_mean(
        (account_group[reporter] >= 0).astype(float)
    )
    values[:, column["unfounded_rate"]] = _unfounded_rate(data, wave, reporter, target, n_waves)
    return WaveSignals(values)


def _graph_signals(
    followees: csr_matrix,
    reporter: IntArray,
    target: IntArray,
    exposed: BoolArray,
    bounds: IntArray,
    values: FloatArray,
    column: dict[str, int],
) -> None:
    """How reporters hang together: do they follow each other, and one common account;
    and how many follow that account without ever having seen the target's content
    (told, not exposed: the mark of a hub's crowd)."""
    member = np.zeros(followees.shape[0], dtype=bool)
    for w in range(len(bounds) - 1):
        members, slot = np.unique(reporter[bounds[w] : bounds[w + 1]], return_inverse=True)
        if len(members) == 0:
            continue
        sub = followees[members]
        followed = sub.indices
        owner = np.repeat(np.arange(len(members)), np.diff(sub.indptr))
        member[members] = True
        inside = member[followed]
        member[members] = False
        values[w, column["follow_within_share"]] = len(distinct(owner[inside])) / len(members)
        the_target = target[bounds[w]]
        others = followed != the_target
        if not others.any():
            continue
        accounts, freq = np.unique(followed[others], return_counts=True)
        values[w, column["common_upstream_share"]] = freq.max() / len(members)
        saw = np.zeros(len(members), dtype=bool)
        np.logical_or.at(saw, slot.ravel(), exposed[bounds[w] : bounds[w + 1]])
        fans = np.zeros(len(members), dtype=bool)
        fans[owner[followed == accounts[np.argmax(freq)]]] = True
        values[w, column["unexposed_fan_share"]] = float((fans & ~saw).mean())


def _reason_and_text(
    data: Data,
    engine: Engine,
    in_wave: IntArray,
    wave: IntArray,
    bounds: IntArray,
    values: FloatArray,
    column: dict[str, int],
) -> None:
    """How alike the reports are: the top reason's share, the largest near-duplicate text
    cluster's share of reports with text."""
    reasons = data.reports.reason[in_wave]
    n_waves = len(bounds) - 1
    for w in range(n_waves):
        chunk = reasons[bounds[w] : bounds[w + 1]]
        if len(chunk):
            values[w, column["reason_concentration"]] = np.bincount(chunk).max() / len(chunk)
    texted, largest = engine.duplicate_clusters(data, in_wave, wave, n_waves)
    share = np.divide(largest, texted, out=np.zeros(n_waves), where=texted >= 3)
    values[:, column["duplicate_text_share"]] = share


def _repeat_overlap(
    wave: IntArray, reporter: IntArray, waves: Waves, n_accounts: int
) -> FloatArray:
    """How much more of a wave's crowd struck together in one other wave (on another
    target) than chance would put there: max over other waves v of
    |U_w & U_v| / |U_w| - |U_v| / (all reporters in waves). Huge organic waves share
    people by chance; a brigade shares them because it is the same brigade."""
    n_waves = len(waves)
    pairs = distinct(pair_keys(reporter, wave, n_waves))
    who, which = pairs // n_waves, pairs % n_waves
    membership = coo_matrix(
        (np.ones(len(pairs)), (who, which)), shape=(n_accounts, n_waves)
    ).tocsc()
    overlap = (membership.T @ membership).tocoo()
    size = np.asarray(membership.sum(axis=0)).ravel()
    population = max(1, len(distinct(who)))
    keep = waves.target[overlap.row] != waves.target[overlap.col]
    row, col, shared = overlap.row[keep], overlap.col[keep], overlap.data[keep]
    excess = shared / np.maximum(size[row], 1) - size[col] / population
    best = np.zeros(n_waves)
    np.maximum.at(best, row, excess)
    return best


def _unfounded_rate(
    data: Data, wave: IntArray, reporter: IntArray, target: IntArray, n_waves: int
) -> FloatArray:
    """Reporters' record on other targets: the share of their decided reports that a
    moderator found unfounded, smoothed towards one half (two pseudo-reports)."""
    reports = data.reports
    n = len(data.accounts)
    if len(data.decisions) == 0:
        return np.full(n_waves, 0.5)
    judged, upheld = report_verdicts(data)
    unfounded = judged & ~upheld
    per_reporter_judged = np.bincount(reports.reporter, weights=judged.astype(float), minlength=n)
    per_reporter_unfounded = np.bincount(
        reports.reporter, weights=unfounded.astype(float), minlength=n
    )
    # Leave the wave's own target out: its verdict usually comes after the wave.
    own = pair_keys(reports.reporter, reports.target, n)
    keys, inverse = np.unique(own, return_inverse=True)
    own_judged = np.bincount(inverse, weights=judged.astype(float))
    own_unfounded = np.bincount(inverse, weights=unfounded.astype(float))
    slot_here = np.searchsorted(keys, pair_keys(reporter, target, n))
    other_judged = per_reporter_judged[reporter] - own_judged[slot_here]
    other_unfounded = per_reporter_unfounded[reporter] - own_unfounded[slot_here]
    rate = (other_unfounded + 1.0) / (other_judged + 2.0)
    total = np.bincount(wave, weights=rate, minlength=n_waves)
    seen = np.bincount(wave, minlength=n_waves)
    result: FloatArray = np.divide(total, seen, out=np.full(n_waves, 0.5), where=seen > 0)
    return result
