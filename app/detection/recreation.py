"""Stage 6: re-created accounts, linked to the suspended account each replaces.

Suspended supporters come back within hours to days under a variant of the old
handle (``name3`` -> ``name_5``, ``naame3``) and follow the same accounts again. A new account is
linked to a suspended one when their handles share a stem (letters only, case
folded), it was created after the suspension and within ``WINDOW_S``, and the score
(half for the handle, half for the overlap of their followees) is the best for both;
chains (``name3`` -> ``name4`` -> ``name5``) link each account to its predecessor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from app.detection.data import Data, FloatArray, IntArray
from app.detection.signals import followee_lists

WINDOW_S = 7 * 86_400.0
EARLY_S = 3_600.0
MIN_STEM = 3


@dataclass(frozen=True)
class Recreations:
    """Pairs (new account, the suspended account it replaces) with a score in [0.5, 1]."""

    new: IntArray
    old: IntArray
    score: FloatArray
    shared_follows: FloatArray


def handle_stem(handle: str | None) -> str | None:
    """The letters of a handle, case folded, doubled letters made single: what survives
    a variant's digits, separators and doubled letters (``ibn_iraqi_2`` and
    ``ibn_iraaqi_7`` share ``ibniraqi``). None when too short to tell accounts apart."""
    if not handle:
        return None
    letters = [c for c in handle.casefold() if c.isalpha()]
    stem = "".join(c for i, c in enumerate(letters) if i == 0 or c != letters[i - 1])
    return stem if len(stem) >= MIN_STEM else None


def _jaccard(followees: csr_matrix, a: int, b: int) -> float:
    first = followees.indices[followees.indptr[a] : followees.indptr[a + 1]]
    second = followees.indices[followees.indptr[b] : followees.indptr[b + 1]]
    union = len(np.union1d(first, second))
    return len(np.intersect1d(first, second)) / union if union else 0.0


def link_recreations(data: Data) -> Recreations:
    accounts = data.accounts
    by_stem: dict[str, list[int]] = {}
    for index, handle in enumerate(accounts.handle):
        stem = handle_stem(handle)
        if stem is not None:
            by_stem.setdefault(stem, []).append(index)
    followees = followee_lists(data)
    pairs: list[tuple[float, float, int, int, float]] = []
    for members in by_stem.values():
        if len(members) < 2:
            continue
        group = np.asarray(members)
        gone = group[~np.isnan(accounts.suspended_at[group])]
        for old in gone.tolist():
            since = accounts.created[group] - accounts.suspended_at[old]
            fresh = group[(since > -EARLY_S) & (since <= WINDOW_S) & (group != old)]
            for new in fresh.tolist():
                shared = _jaccard(followees, old, new)
                gap = float(accounts.created[new] - accounts.suspended_at[old])
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
    new_ids, old_ids, scores, shared_follows = zip(*chosen, strict=True)
    return Recreations(
        np.asarray(new_ids, dtype=np.int64),
        np.asarray(old_ids, dtype=np.int64),
        np.asarray(scores),
        np.asarray(shared_follows),
    )
