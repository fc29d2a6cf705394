"""Stage 6: re-created accounts, linked to the suspended account each replaces.

Suspended supporters come back within hours to days under a variant of the old
handle (``name3`` -> ``name_5``, ``naame3``) and follow and amplify the same accounts
again, and their audience follows and names the new account. A shared handle stem
(letters only, case folded) only makes two accounts candidates: common names are
shared by strangers, and a new sign-up named like a suspended supporter is usually
someone else. The link rests on behaviour: the two must share more contacts (accounts
they follow, amplify or mention, and accounts that do so to them) than two unrelated
accounts would (``shared_tie_chance``: each of the new account's contacts is shared by
chance in proportion to how many others have it), at ``link_tail`` over all
candidate pairs. The new
account must appear after the suspension (within ``window_s``) and the old one must
not act again after it appeared. Each new account replaces the one that went quiet
most recently before it, so chains (``name3`` -> ``name4`` -> ``name5``) link each
account to its predecessor.

Where the platform sent no status (an archive of posts, say), suspensions are not
seen: a variant is then the successor of one first seen before it (posting, reporting
or named) that stopped posting and reporting before it appeared, within the longer
``silent_window_s``. An account known to be active replaces no one.

A successor inherits its predecessor's history (report record and reporter risk) only
where chance would explain the shared ties less than once in ``1 / inherit_tail``.
The settings are ``RecreationParams``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.stats import poisson

from app.detection.data import STATUSES, UNKNOWN_STATUS, BoolArray, Data, FloatArray, IntArray
from app.detection.scores import Reliability

ACTIVE = STATUSES.index("active")


@dataclass(frozen=True, kw_only=True)
class RecreationParams:
    """``window_s``: how long after a suspension a successor may appear
    (``silent_window_s`` for accounts without status, whose end is a guess);
    ``early_s``: the slack on either side of an appearance; ``min_stem``: the letters a
    handle stem needs; ``link_tail``: the chance, over all candidate pairs, below which
    shared contacts link two accounts; ``inherit_tail``: the stricter one for a
    successor to inherit its predecessor's history."""

    window_s: float = 7 * 86_400.0
    silent_window_s: float = 30 * 86_400.0
    early_s: float = 3_600.0
    min_stem: int = 3
    link_tail: float = 0.01
    inherit_tail: float = 1e-6


@dataclass(frozen=True)
class Recreations:
    """Pairs (new account, the suspended account it replaces): the share of shared
    contacts (Jaccard over ``contact_matrix``), the chance two unrelated accounts would
    share as many, and whether the successor inherits its predecessor's history."""

    new: IntArray
    old: IntArray
    shared_ties: FloatArray
    chance: FloatArray
    inherits: BoolArray


def handle_stem(handle: str | None, min_stem: int = RecreationParams.min_stem) -> str | None:
    """The letters of a handle, case folded, doubled letters made single: what survives
    a variant's digits, separators and doubled letters (``ibn_iraqi_2`` and
    ``ibn_iraaqi_7`` share ``ibniraqi``). None when too short to tell accounts apart."""
    if not handle:
        return None
    letters = [c for c in handle.casefold() if c.isalpha()]
    stem = "".join(c for i, c in enumerate(letters) if i == 0 or c != letters[i - 1])
    return stem if len(stem) >= min_stem else None


def _row(ties: csr_matrix, a: int) -> IntArray:
    found: IntArray = ties.indices[ties.indptr[a] : ties.indptr[a + 1]]
    return found


def shared_tie_chance(ties: csr_matrix, holders: FloatArray, old: int, new: int) -> float:
    """How likely an unrelated account with ``old``'s number of ties shares ``new``'s
    ties as ``old`` does. Each of ``new``'s ties is held by chance with probability in
    proportion to how many other accounts hold it (``holders``: accounts tied to each;
    one added, so that an account nobody else follows still counts). Sharing two rare
    accounts says more than sharing three celebrities, so ``new``'s ties are taken
    rarest first and, for each k, the k rarest are tested (Poisson tail of the shared
    count against the sum of their probabilities); the smallest tail, times the number
    of tests, is the answer."""
    first, second = _row(ties, old), _row(ties, new)
    shared = np.isin(second, first)
    if not shared.any():
        return 1.0
    others = holders[second] - 1.0 - shared
    chance = np.minimum(1.0, len(first) * (others + 1.0) / max(float(ties.nnz), 1.0))
    order = np.argsort(chance, kind="stable")
    expected = np.cumsum(chance[order])
    found = np.cumsum(shared[order])
    tails = poisson.sf(found - 1, expected)
    return float(min(1.0, tails[found > 0].min() * len(second)))


def contact_matrix(data: Data) -> csr_matrix:
    """Row ``a``: the accounts ``a`` follows, amplifies, replies to or mentions (columns
    ``0..n-1``) and the accounts that do so to ``a`` (columns ``n..2n-1``). What an
    operator carries over to a new account: the accounts it follows and amplifies, and
    the audience that follows it again and announces it ("follow my new account")."""
    n = len(data.accounts)
    edges, posts = data.edges, data.posts
    reshares = np.flatnonzero(posts.reshare_of >= 0)
    src = np.concatenate([edges.src, posts.author[reshares], posts.author[posts.mention_post]])
    dst = np.concatenate(
        [edges.dst, posts.author[posts.reshare_of[reshares]], posts.mention_account]
    )
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    src, dst = src[keep], dst[keep]
    rows = np.concatenate([src, dst])
    columns = np.concatenate([dst, n + src])
    matrix = csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, 2 * n))
    matrix.data[:] = 1.0
    return matrix


def _jaccard(ties: csr_matrix, a: int, b: int) -> float:
    first, second = _row(ties, a), _row(ties, b)
    union = len(np.union1d(first, second))
    return len(np.intersect1d(first, second)) / union if union else 0.0


def _first_last(n: int, who: IntArray, when: FloatArray) -> tuple[FloatArray, FloatArray]:
    """First and last time each of ``n`` accounts appears in ``who`` (NaN if never)."""
    keep = (who >= 0) & ~np.isnan(when)
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, who[keep], when[keep])
    np.maximum.at(last, who[keep], when[keep])
    return np.where(np.isinf(first), np.nan, first), np.where(np.isinf(last), np.nan, last)


def _last_acted(data: Data) -> FloatArray:
    """The last time each account posted or reported (NaN if never): being named by
    others says nothing about whether the account itself still acts."""
    who = np.concatenate([data.posts.author, data.reports.reporter])
    when = np.concatenate([data.posts.time, data.reports.time])
    return _first_last(len(data.accounts), who, when)[1]


def _seen(data: Data) -> tuple[FloatArray, FloatArray]:
    """First and last time each account was seen: posting, reporting or named."""
    posts, reports = data.posts, data.reports
    who = np.concatenate([posts.author, posts.mention_account, reports.reporter, reports.target])
    when = np.concatenate([posts.time, posts.time[posts.mention_post], reports.time, reports.time])
    return _first_last(len(data.accounts), who, when)


def _lifetimes(
    data: Data, params: RecreationParams
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
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
    anchor = np.where(unknown, start + params.early_s, end)
    window = np.where(unknown, params.silent_window_s, params.window_s)
    return start, end, anchor, window


def link_recreations(
    data: Data, contacts: csr_matrix, params: RecreationParams | None = None
) -> Recreations:
    """Successor/predecessor pairs; ``contacts``: ``contact_matrix``."""
    params = params or RecreationParams()
    by_stem: dict[str, list[int]] = {}
    for index, handle in enumerate(data.accounts.handle):
        stem = handle_stem(handle, params.min_stem)
        if stem is not None:
            by_stem.setdefault(stem, []).append(index)
    start, end, anchor, window = _lifetimes(data, params)
    acted = _last_acted(data)
    holders = np.asarray(contacts.sum(axis=0)).ravel()
    candidates: list[tuple[int, int]] = []
    for members in by_stem.values():
        if len(members) < 2:
            continue
        group = np.asarray(members)
        for old in group[~np.isnan(end[group])].tolist():
            since = start[group] - anchor[old]
            late = start[group] - end[old]
            # The old account must not act again once the new one has appeared.
            quiet = ~(acted[old] > start[group] + params.early_s)
            fresh = group[
                (since > -params.early_s) & (late <= window[old]) & (group != old) & quiet
            ]
            candidates += [(new, old) for new in fresh.tolist()]
    tail = params.link_tail / max(len(candidates), 1)
    pairs: list[tuple[float, float, int, int]] = []
    for new, old in candidates:
        chance = shared_tie_chance(contacts, holders, old, new)
        if chance <= tail:
            pairs.append((float(start[new] - anchor[old]), chance, new, old))
    # Among the pairs the evidence supports, a new account replaces the one that went
    # quiet most recently before it (so chains link step by step); each account is
    # replaced once and replaces one.
    pairs.sort()
    taken_new: set[int] = set()
    taken_old: set[int] = set()
    chosen = []
    for _, chance, new, old in pairs:
        if new in taken_new or old in taken_old:
            continue
        taken_new.add(new)
        taken_old.add(old)
        chosen.append((new, old, _jaccard(contacts, old, new), chance))
    if not chosen:
        empty = np.empty(0, dtype=np.int64)
        return Recreations(empty, empty.copy(), np.empty(0), np.empty(0), np.empty(0, dtype=bool))
    chosen.sort(key=lambda pair: start[pair[0]])
    new_ids, old_ids, shared_ties, chances = zip(*chosen, strict=True)
    return Recreations(
        np.asarray(new_ids, dtype=np.int64),
        np.asarray(old_ids, dtype=np.int64),
        np.asarray(shared_ties),
        np.asarray(chances),
        np.asarray(chances) <= params.inherit_tail,
    )


def inherit(
    found: Recreations, reporter_risk: FloatArray, record: Reliability
) -> tuple[FloatArray, Reliability]:
    """Each successor linked with enough evidence (``Recreations.inherits``) carries its
    predecessor's report record and at least its reporter risk; pairs come oldest
    successor first, so a chain hands history all the way down."""
    risk = reporter_risk.copy()
    reports, upheld, unfounded = (
        c.copy() for c in (record.reports, record.upheld, record.unfounded)
    )
    for new, old in zip(
        found.new[found.inherits].tolist(), found.old[found.inherits].tolist(), strict=True
    ):
        risk[new] = max(risk[new], risk[old])
        reports[new] += reports[old]
        upheld[new] += upheld[old]
        unfounded[new] += unfounded[old]
    return risk, Reliability(reports, upheld, unfounded)
