"""Stage 3: lockstep groups, accounts that report the same targets together again and again.

Work on waves, not on account pairs: the overlap of every two waves' reporters is one
sparse product (waves x waves), cheap however large the waves. Two waves on different
targets *repeat a crowd* when they share at least ``min_size`` reporters and clearly
more than chance would put in both (the share of the smaller wave that is in the other,
minus the other's share of all reporters, is at least ``min_excess``). Huge organic
waves share people by chance and fall under that bar; a brigade striking two victims
clears it. The reporters in both waves of a repeating pair are linked (a chain suffices
for connectivity), and linked accounts form groups. A member's ordinary reports
elsewhere change nothing, so camouflage does not dissolve a group. Cost is one sort of
the (account, wave) pairs, one sparse product and a pass over the repeating pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csc_matrix
from scipy.sparse.csgraph import connected_components

from app.detection.data import FloatArray, IntArray, distinct
from app.detection.waves import Waves


@dataclass(frozen=True)
class GroupParams:
    min_size: int = 3
    min_excess: float = 0.2


@dataclass(frozen=True)
class Groups:
    """Lockstep groups: ``account_group`` maps an account to its group (-1: none).

    ``cohesion`` is the mean share of a group's members present when the group strikes
    (over the waves in which at least two members reported).
    """

    members: list[IntArray]
    cohesion: FloatArray
    account_group: IntArray

    def __len__(self) -> int:
        return len(self.members)


def find_groups(
    reporter: IntArray,
    report_wave: IntArray,
    waves: Waves,
    n_accounts: int,
    params: GroupParams | None = None,
) -> Groups:
    params = params or GroupParams()
    n_waves = len(waves)
    none = np.full(n_accounts, -1, dtype=np.int64)
    if n_waves < 2:
        return Groups([], np.empty(0), none)
    rows = np.flatnonzero(report_wave >= 0)
    pairs = distinct(reporter[rows] * n_waves + report_wave[rows])
    who, which = pairs // n_waves, pairs % n_waves
    membership: csc_matrix = coo_matrix(
        (np.ones(len(who)), (who, which)), shape=(n_accounts, n_waves)
    ).tocsc()
    size = np.diff(membership.indptr)
    population = max(1, len(distinct(who)))
    overlap = (membership.T @ membership).tocoo()
    w, v, shared = overlap.row, overlap.col, overlap.data
    smaller = np.minimum(size[w], size[v])
    excess = shared / np.maximum(smaller, 1) - np.maximum(size[w], size[v]) / population
    repeating = (
        (w < v)
        & (waves.target[w] != waves.target[v])
        & (shared >= params.min_size)
        & (excess >= params.min_excess)
    )
    src: list[IntArray] = []
    dst: list[IntArray] = []
    indices, indptr = membership.indices, membership.indptr
    for a, b in zip(w[repeating].tolist(), v[repeating].tolist(), strict=True):
        both = np.intersect1d(
            indices[indptr[a] : indptr[a + 1]], indices[indptr[b] : indptr[b + 1]]
        )
        src.append(both[:-1])
        dst.append(both[1:])
    if not src:
        return Groups([], np.empty(0), none)
    links = coo_matrix(
        (np.ones(sum(len(s) for s in src)), (np.concatenate(src), np.concatenate(dst))),
        shape=(n_accounts, n_accounts),
    )
    _, label = connected_components(links, directed=False)
    linked = np.zeros(n_accounts, dtype=bool)
    linked[np.concatenate(src)] = True
    linked[np.concatenate(dst)] = True
    sizes = np.bincount(label[linked], minlength=label.max() + 1)
    keep = linked & (sizes[label] >= params.min_size)
    kept_labels = distinct(label[keep])
    account_group = none.copy()
    account_group[keep] = np.searchsorted(kept_labels, label[keep])
    members = [np.flatnonzero(account_group == g) for g in range(len(kept_labels))]
    return Groups(members, _cohesion(account_group, who, which, len(members)), account_group)


def _cohesion(account_group: IntArray, who: IntArray, which: IntArray, groups: int) -> FloatArray:
    """Mean share of a group's members present in the waves where two or more of them were."""
    if groups == 0:
        return np.empty(0)
    grouped = account_group[who] >= 0
    group_of = account_group[who[grouped]]
    present = np.unique(group_of * (which.max() + 1) + which[grouped], return_counts=True)
    group_key, count = present[0] // (which.max() + 1), present[1]
    sizes = np.bincount(account_group[account_group >= 0], minlength=groups)
    strikes = count >= 2
    share = count[strikes] / sizes[group_key[strikes]]
    total = np.bincount(group_key[strikes], weights=share, minlength=groups)
    seen = np.bincount(group_key[strikes], minlength=groups)
    result: FloatArray = np.divide(total, seen, out=np.zeros(groups), where=seen > 0)
    return result
