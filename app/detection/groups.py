"""Stage 3: lockstep groups, accounts that report the same targets together again and again.

Two accounts are linked when they reported in the same waves on at least
``min_shared_targets`` different targets. Each shared wave counts 1/log(size + 5), so
co-reporting inside a huge wave (where anyone meets anyone) counts for little, and a
member's ordinary reports elsewhere do not weaken the link. Waves larger than
``max_members`` contribute a seeded sample of that many reporters, which keeps the
pair count linear in reports. Linked accounts form groups (connected components of
strong links); cohesion is the share of member pairs that are directly linked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from app.detection.data import FloatArray, IntArray
from app.detection.waves import Waves


@dataclass(frozen=True)
class GroupParams:
    min_shared_targets: int = 2
    min_link_weight: float = 0.35
    min_size: int = 3
    max_members: int = 250
    seed: int = 0


@dataclass(frozen=True)
class Groups:
    """Lockstep groups: ``account_group`` maps an account to its group (-1: none)."""

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
    empty = Groups([], np.empty(0), np.full(n_accounts, -1, dtype=np.int64))
    if n_waves == 0:
        return empty
    rows = np.flatnonzero(report_wave >= 0)
    pairs = np.unique(reporter[rows] * n_waves + report_wave[rows])
    who, which = pairs // n_waves, pairs % n_waves
    rng = np.random.default_rng(params.seed)
    size = np.bincount(which, minlength=n_waves)
    keep = np.ones(len(who), dtype=bool)
    for w in np.flatnonzero(size > params.max_members).tolist():
        at = np.flatnonzero(which == w)
        drop = rng.choice(at, size=len(at) - params.max_members, replace=False)
        keep[drop] = False
    who, which = who[keep], which[keep]
    # Square roots, so that a pair's product over a shared wave is 1/log(size + 5).
    weight = np.sqrt(1.0 / np.log(size[which] + 5.0))
    membership = csr_matrix((weight, (who, which)), shape=(n_accounts, n_waves))
    # Shared targets, not shared waves: fragments of one wave are one target.
    target_membership = coo_matrix(
        (np.ones(len(who)), (who, waves.target[which])), shape=(n_accounts, n_accounts)
    ).tocsr()
    target_membership.data[:] = 1.0
    strength = (membership @ membership.T).tocoo()
    shared = (target_membership @ target_membership.T).tocsr()
    off_diagonal = strength.row != strength.col
    row, col, link = (
        strength.row[off_diagonal],
        strength.col[off_diagonal],
        strength.data[off_diagonal],
    )
    together = np.asarray(shared[row, col]).ravel()
    strong = (link >= params.min_link_weight) & (together >= params.min_shared_targets)
    row, col = row[strong], col[strong]
    if len(row) == 0:
        return empty
    graph = coo_matrix((np.ones(len(row)), (row, col)), shape=(n_accounts, n_accounts))
    _, label = connected_components(graph, directed=False)
    linked = np.zeros(n_accounts, dtype=bool)
    linked[row] = True
    label = np.where(linked, label, -1)
    groups: list[IntArray] = []
    cohesion: list[float] = []
    account_group = np.full(n_accounts, -1, dtype=np.int64)
    links_per_label = np.bincount(label[row], minlength=label.max() + 1)
    for value in np.unique(label[label >= 0]).tolist():
        members = np.flatnonzero(label == value)
        if len(members) < params.min_size:
            continue
        account_group[members] = len(groups)
        groups.append(members)
        possible = len(members) * (len(members) - 1)
        cohesion.append(min(1.0, links_per_label[value] / possible))
    return Groups(groups, np.asarray(cohesion), account_group)
