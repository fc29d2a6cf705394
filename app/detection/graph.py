"""The account graph as the signals and the engines read it: who follows whom, who
engaged with or reshared whom, and whether a reporter had seen its target's content."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from app.detection.data import EDGE_KINDS, BoolArray, Data, IntArray, distinct

FOLLOW = EDGE_KINDS.index("follow")
ENGAGE = tuple(EDGE_KINDS.index(k) for k in ("retweet", "quote", "reply", "like"))


def pair_keys(a: IntArray, b: IntArray, n: int) -> IntArray:
    keys: IntArray = a.astype(np.int64) * n + b
    return keys


def followee_lists(data: Data) -> csr_matrix:
    """Row ``a`` lists the accounts that ``a`` follows (``.T`` lists followers)."""
    n = len(data.accounts)
    edges = data.edges
    follows = edges.kind == FOLLOW
    return csr_matrix(
        (np.ones(int(follows.sum())), (edges.src[follows], edges.dst[follows])), shape=(n, n)
    )


def ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """The positions ``starts[i], ..., starts[i] + counts[i] - 1`` of every range, in
    order, concatenated."""
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    result: IntArray = np.repeat(starts, counts) + offsets
    return result


def neighbours_of(matrix: csr_matrix, rows: IntArray) -> tuple[IntArray, IntArray]:
    """The column indices of each of ``rows`` (e.g. an account's followers),
    concatenated, and how many each row has."""
    starts = matrix.indptr[rows]
    counts = matrix.indptr[rows + 1] - starts
    found: IntArray = matrix.indices[ranges(starts, counts)].astype(np.int64)
    return found, counts


def contains(sorted_keys: IntArray, keys: IntArray) -> BoolArray:
    """Which of ``keys`` occur in the sorted array ``sorted_keys``."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    slot = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found: BoolArray = sorted_keys[slot] == keys
    return found


def exposure(data: Data, followees: csr_matrix, reporter: IntArray, target: IntArray) -> BoolArray:
    """Per (reporter, target) pair: had the reporter seen the target's own content? It
    follows or engaged with the target, reshared its posts, or follows someone who did.
    Only the pairs asked about are expanded, never every follower of every sharer."""
    n = len(data.accounts)
    edges = data.edges
    direct = np.isin(edges.kind, (FOLLOW, *ENGAGE))
    pair = pair_keys(reporter, target, n)
    seen = contains(np.sort(pair_keys(edges.src[direct], edges.dst[direct], n)), pair)
    posts = data.posts
    reshared = np.flatnonzero(posts.reshare_of >= 0)
    original_author = posts.author[posts.reshare_of[reshared]]
    sharer = posts.author[reshared]
    ok = (original_author >= 0) & (sharer >= 0) & (original_author != sharer)
    shared = distinct(pair_keys(sharer[ok], original_author[ok], n))
    seen |= contains(shared, pair)
    # The accounts each reporter follows, each paired with the target it reported.
    asked, position = np.unique(pair, return_inverse=True)
    followed, counts = neighbours_of(followees, asked // n)
    via_sharer = contains(shared, pair_keys(followed, np.repeat(asked % n, counts), n))
    owner = np.repeat(np.arange(len(asked)), counts)
    hit = np.bincount(owner, weights=via_sharer, minlength=len(asked)) > 0
    result: BoolArray = seen | hit[position.ravel()]
    return result
