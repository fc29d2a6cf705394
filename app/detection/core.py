"""Scores, continued: the coordinated core of each target's reporting, judged on its own.

A brigade can bury its wave under ordinary reports: hundreds of established accounts
reporting the victim for random reasons change every share the wave model reads and
the share of the victim's reports that are orchestrated. What they cannot change is
what the brigade's own accounts did elsewhere. A report on target T belongs to T's
*core* when its reporter took part in an orchestrated wave (score >= 0.5) on another
target without having seen that target's content: evidence of that account's own
conduct, which nothing filed against T moves.
The core's reports are searched for bursts on their own, against their own per-target
baseline; lockstep groups are found among the core waves alone; and each core wave is
judged by the core model (the wave model's signals, fitted on core waves). Reports by
anyone else never enter this view, so adding them cannot move a core wave, its score,
or the hold it supports (scores.target_risk).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.stats import poisson

from app.detection.data import BoolArray, Data, FloatArray, IntArray, Reports, distinct
from app.detection.engine import Engine
from app.detection.graph import ranges
from app.detection.groups import GroupParams, find_groups
from app.detection.scores import FLAG
from app.detection.signals import DIRECTIVE_WINDOW_S, WaveSignals, compute_signals
from app.detection.waves import WaveParams, Waves, assemble_waves, find_waves


@dataclass(frozen=True, kw_only=True)
class CoreParams:
    """The core's own burst test (the other settings are the main test's). Core
    accounts rarely report any one target by chance, so its floor rate is a tenth of
    the main test's, and three reports can make a core wave: a cell of accounts that
    orchestrated elsewhere striking within hours is the signal."""

    floor_per_day: float = 0.05
    min_reports: int = 3


def outside_score(
    reporter: IntArray,
    target: IntArray,
    waves: Waves,
    wave_score: FloatArray,
    n: int,
    member: BoolArray | None = None,
) -> FloatArray:
    """Per report, the highest score of a wave its reporter joined on another target,
    counting only the wave reports in ``member`` (default: all).

    Per account, the best and second-best target by wave score suffice: a report on
    the best target reads the second."""
    member = waves.report_wave >= 0 if member is None else member
    who, which = reporter[member], waves.report_wave[member]
    best = np.full((2, n), -1.0)
    best_target = np.full(n, -1, dtype=np.int64)
    if len(who):
        # Each account's waves, highest score first; its best target is the first row.
        order = np.lexsort((-wave_score[which], who))
        who, which = who[order], which[order]
        first = np.concatenate([[True], who[1:] != who[:-1]])
        best[0, who[first]] = wave_score[which[first]]
        best_target[who[first]] = waves.target[which[first]]
        other = waves.target[which] != best_target[who]
        np.maximum.at(best[1], who[other], wave_score[which[other]])
    on_best = best_target[reporter] == target
    result: FloatArray = np.maximum(np.where(on_best, best[1, reporter], best[0, reporter]), 0.0)
    return result


def find_core_waves(
    data: Data,
    waves: Waves,
    wave_score: FloatArray,
    exposed: tuple[IntArray, BoolArray],
    params: WaveParams,
    core_test: CoreParams | None = None,
) -> Waves:
    """Bursts among the core's reports, per target (see the module docstring);
    ``report_wave`` is indexed like ``data.reports``. An orchestrated wave elsewhere
    makes an account a member only where it had not seen that target's content
    (``exposed``: scores.exposed_in_flagged): a follower who reported a victim while a
    brigade struck it, or an account that followed victims to dilute their waves, was
    not told."""
    core_test = core_test or CoreParams()
    reports = data.reports
    rows, seen = exposed
    member = waves.report_wave >= 0
    member[rows[seen]] = False
    elsewhere = outside_score(
        reports.reporter, reports.target, waves, wave_score, len(data.accounts), member
    )
    rows = np.flatnonzero(elsewhere >= FLAG)
    report_wave = np.full(len(reports), -1, dtype=np.int64)
    if len(rows) == 0:
        return assemble_waves(reports, report_wave, 0)
    core = Reports(
        [],
        reports.reporter[rows],
        reports.target[rows],
        reports.time[rows],
        reports.reason[rows],
        np.full(len(rows), -1, dtype=np.int64),
        [],
    )
    # The core's own latest report, not the analysis time, ends its period: nothing
    # outside the core moves its baselines.
    core_params = replace(
        params, floor_per_day=core_test.floor_per_day, min_reports=core_test.min_reports
    )
    found = find_waves(core, len(data.accounts), float(core.time.max()), core_params)
    report_wave[rows] = found.report_wave
    return assemble_waves(reports, report_wave, len(found))


def core_signals(
    data: Data,
    core: Waves,
    engine: Engine,
    group_params: GroupParams | None = None,
    directive_window_s: float = DIRECTIVE_WINDOW_S,
) -> WaveSignals:
    """The wave model's signals of the core waves, lockstep groups taken among them."""
    groups = find_groups(
        data.reports.reporter, core.report_wave, core, len(data.accounts), group_params
    )
    return compute_signals(data, core, groups.account_group, engine, directive_window_s)


def overlaps(waves: Waves, core: Waves) -> tuple[IntArray, IntArray]:
    """Pairs (core wave, wave) on the same target whose spans overlap. A target has few
    waves, and its content items' waves may overlap its own, so every pair of a
    target's waves and core waves is tried."""
    order = np.argsort(waves.target, kind="stable")
    low = np.searchsorted(waves.target[order], core.target, side="left")
    high = np.searchsorted(waves.target[order], core.target, side="right")
    count = high - low
    pair_core = np.repeat(np.arange(len(core)), count)
    pair_wave = order[ranges(low, count)]
    meet = (waves.start[pair_wave] <= core.end[pair_core]) & (
        waves.end[pair_wave] >= core.start[pair_core]
    )
    return pair_core[meet], pair_wave[meet]


def overlapping_core_score(
    n_waves: int, pairs: tuple[IntArray, IntArray], core_score: FloatArray
) -> FloatArray:
    """Per wave, the highest score of a core wave on its target that overlaps it (0 if
    none; ``pairs`` from ``overlaps``). A wave is judged by its coordinated core too, so
    ordinary reports mixed into a brigade's wave do not dilute it."""
    pair_core, pair_wave = pairs
    score = np.zeros(n_waves)
    np.maximum.at(score, pair_wave, core_score[pair_core])
    return score


def repeating_cells(
    reporter: IntArray, core: Waves, candidates: IntArray, family_error: float = 0.01
) -> BoolArray:
    """Which ``candidates`` (core waves) share two or more reporters with improbably many
    other candidates on other targets: the same small cell striking again and again.

    Null: each candidate's crowd is a random draw from everyone who reports, so it
    shares two accounts with a crowd of ``s`` by chance with probability about
    C(size, 2) C(s, 2) / C(N, 2). The count of candidates it does share two with is
    tested against the Poisson tail of that expectation, at ``family_error`` over all
    candidates (Bonferroni). Three of a brigade's accounts meeting once on an ordinary
    target do not repeat; a cell's strikes do."""
    result = np.zeros(len(candidates), dtype=bool)
    if len(candidates) < 2:
        return result
    local = np.full(len(core) + 1, -1, dtype=np.int64)
    local[candidates] = np.arange(len(candidates))
    rows = np.flatnonzero(local[core.report_wave] >= 0)
    pairs = np.unique(np.stack([reporter[rows], local[core.report_wave[rows]]]), axis=1)
    accounts = int(pairs[0].max()) + 1
    membership = coo_matrix(
        (np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(accounts, len(candidates))
    ).tocsc()
    shared = (membership.T @ membership).tocoo()
    target = core.target[candidates]
    meets = (shared.data >= 2) & (target[shared.row] != target[shared.col])
    observed = np.bincount(shared.row[meets], minlength=len(candidates))
    population = len(distinct(reporter))
    size = np.diff(membership.indptr).astype(float)
    couples = size * (size - 1) / 2
    chance = couples / max(population * (population - 1) / 2, 1.0)
    expected = chance * (couples.sum() - couples)
    result = poisson.sf(observed - 1, expected) < family_error / len(candidates)
    return np.asarray(result & (observed > 0))


def with_core_waves(
    reports: Reports, waves: Waves, core: Waves, core_score: FloatArray, overlapping: IntArray
) -> tuple[Waves, IntArray]:
    """The waves, and after them the core's orchestrated waves that overlap none (a cell's
    three or four reports, too few for the main burst test) where the cell repeats
    (``repeating_cells``); and which core waves were added. ``overlapping``: the core
    waves that do overlap a wave (``overlaps``)."""
    alone = np.ones(len(core), dtype=bool)
    alone[overlapping] = False
    candidates = np.flatnonzero(alone & (core_score >= FLAG))
    added = candidates[repeating_cells(reports.reporter, core, candidates)]
    if len(added) == 0:
        return waves, added
    renumber = np.full(len(core) + 1, -1, dtype=np.int64)
    renumber[added] = len(waves) + np.arange(len(added))
    report_wave = np.where(waves.report_wave >= 0, waves.report_wave, renumber[core.report_wave])
    return assemble_waves(reports, report_wave, len(waves) + len(added)), added
