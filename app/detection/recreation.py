"""Stage 6: re-created accounts, linked to the suspended account each replaces.

Suspended supporters come back within hours to days under a variant of the old
handle (``name3`` -> ``name_5``, ``naame3``) and follow and amplify the same accounts
again. A new account is linked to a suspended one when their handles share a stem
(letters only, case folded), it was created after the suspension and within
``WINDOW_S``, and the score (half for the handle, half for the overlap of the accounts
they follow or amplify) is the best for both; chains (``name3`` -> ``name4`` ->
``name5``) link each account to its predecessor.

Where the platform sent no status (an archive of posts, say), suspensions are not
seen, and operators keep spare numbered accounts alive side by side: a variant is then
the successor of the one first seen before it (posting, reporting or named), if it
appeared within the longer ``SILENT_WINDOW_S`` of the last sighting of that one. An
account known to be active replaces no one.

The successor inherits its predecessor's history: its report record and reporter risk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from app.detection.data import STATUSES, UNKNOWN_STATUS, Data, FloatArray, IntArray
from app.detection.scores import Reliability

WINDOW_S = 7 * 86_400.0
SILENT_WINDOW_S = 30 * 86_400.0
EARLY_S = 3_600.0
MIN_STEM = 3
ACTIVE = STATUSES.index("active")


@dataclass(frozen=True)
class Recreations:
    """Pairs (new account, the suspended account it replaces) with a score in [0.5, 1]."""

    new: IntArray
    old: IntArray
    score: FloatArray
    shared_ties: FloatArray


def handle_stem(handle: str | None) -> str | None:
    """The letters of a handle, case folded, doubled letters made single: what survives
    a variant's digits, separators and doubled letters (``ibn_iraqi_2`` and
    ``ibn_iraaqi_7`` share ``ibniraqi``). None when too short to tell accounts apart."""
    if not handle:
        return None
    letters = [c for c in handle.casefold() if c.isalpha()]
    stem = "".join(c for i, c in enumerate(letters) if i == 0 or c != letters[i - 1])
    return stem if len(stem) >= MIN_STEM else None


def _jaccard(ties: csr_matrix, a: int, b: int) -> float:
    first = ties.indices[ties.indptr[a] : ties.indptr[a + 1]]
    second = ties.indices[ties.indptr[b] : ties.indptr[b + 1]]
    union = len(np.union1d(first, second))
    return len(np.intersect1d(first, second)) / union if union else 0.0


def _seen(data: Data) -> tuple[FloatArray, FloatArray]:
    """First and last time each account was seen: posting, reporting or named."""
    posts, reports = data.posts, data.reports
    who = np.concatenate([posts.author, posts.mention_account, reports.reporter, reports.target])
    when = np.concatenate([posts.time, posts.time[posts.mention_post], reports.time, reports.time])
    keep = (who >= 0) & ~np.isnan(when)
    first = np.full(len(data.accounts), np.inf)
    last = np.full(len(data.accounts), -np.inf)
    np.minimum.at(first, who[keep], when[keep])
    np.maximum.at(last, who[keep], when[keep])
    return np.where(np.isinf(first), np.nan, first), np.where(np.isinf(last), np.nan, last)


def _lifetimes(data: Data) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(start, end, anchor, window) per account: creation and suspension where the
    platform said so, otherwise first and last sight with the longer window. A
    successor must start after its predecessor's ``anchor``: the suspension, or for
    an account without status its first sighting."""
    accounts = data.accounts
    first, last = _seen(data)
    unknown = accounts.status == UNKNOWN_STATUS
    start = np.where(np.isnan(accounts.created), first, accounts.created)
    end = np.where(unknown, last, accounts.suspended_at)
    end[accounts.status == ACTIVE] = np.nan
    anchor = np.where(unknown, start + EARLY_S, end)
    window = np.where(unknown, SILENT_WINDOW_S, WINDOW_S)
    return start, end, anchor, window


def link_recreations(data: Data, ties: csr_matrix) -> Recreations:
    """Successor/predecessor pairs; ``ties`` lists whom each account follows or amplifies."""
    by_stem: dict[str, list[int]] = {}
    for index, handle in enumerate(data.accounts.handle):
        stem = handle_stem(handle)
        if stem is not None:
            by_stem.setdefault(stem, []).append(index)
    start, end, anchor, window = _lifetimes(data)
    pairs: list[tuple[float, float, int, int, float]] = []
    for members in by_stem.values():
        if len(members) < 2:
            continue
        group = np.asarray(members)
        for old in group[~np.isnan(end[group])].tolist():
            since = start[group] - anchor[old]
            late = start[group] - end[old]
            fresh = group[(since > -EARLY_S) & (late <= window[old]) & (group != old)]
            for new in fresh.tolist():
                shared = _jaccard(ties, old, new)
                gap = float(start[new] - anchor[old])
                pairs.append((0.5 + 0.5 * shared, -gap, new, old, shared))
    # Best pairs first; each account is replaced once and replaces one.
    pairs.sort(reverse=True)
    taken_new: set[int] = set()
    taken_old: set[int] = set()
    chosen = []
    for score, _, new, old, shared in pairs:
        if new in taken_new or old in taken_old:
            continue
        taken_new.add(new)
        taken_old.add(old)
        chosen.append((new, old, score, shared))
    if not chosen:
        empty = np.empty(0, dtype=np.int64)
        return Recreations(empty, empty.copy(), np.empty(0), np.empty(0))
    chosen.sort(key=lambda pair: start[pair[0]])
    new_ids, old_ids, scores, shared_ties = zip(*chosen, strict=True)
    return Recreations(
        np.asarray(new_ids, dtype=np.int64),
        np.asarray(old_ids, dtype=np.int64),
        np.asarray(scores),
        np.asarray(shared_ties),
    )


def inherit(
    found: Recreations, reporter_risk: FloatArray, record: Reliability
) -> tuple[FloatArray, Reliability]:
    """Each successor carries its predecessor's report record and at least its reporter
    risk; pairs come oldest successor first, so a chain hands history all the way down."""
    risk = reporter_risk.copy()
    reports, upheld, unfounded = (
        c.copy() for c in (record.reports, record.upheld, record.unfounded)
    )
    for new, old in zip(found.new.tolist(), found.old.tolist(), strict=True):
        risk[new] = max(risk[new], risk[old])
        reports[new] += reports[old]
        upheld[new] += upheld[old]
        unfounded[new] += unfounded[old]
    return risk, Reliability(reports, upheld, unfounded)
