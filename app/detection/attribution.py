"""Stage 5: who directed each orchestrated wave.

Candidates are the accounts that named the target (a mention or a reply) in the three
days before the wave began: the directive. Each is scored by the share of the wave's
reporters who follow or amplify it, since a directive reaches the reporters through
the hub's own audience. When nobody named the target on the platform (orders given
elsewhere), the wave gets no guess dressed as evidence: the account most of its
reporters follow is given instead, marked ``inferred``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.detection.data import EDGE_KINDS, BoolArray, Data, FloatArray, IntArray, distinct
from app.detection.graph import ranges
from app.detection.signals import DIRECTIVE_WINDOW_S
from app.detection.waves import Waves

AUDIENCE_KINDS = tuple(EDGE_KINDS.index(k) for k in ("follow", "retweet", "quote", "like"))


@dataclass(frozen=True, kw_only=True)
class AttributionParams:
    """A post naming a wave's target counts as its directive from ``directive_window_s``
    before the wave starts to ``directive_grace_s`` after (the order's last copies can
    trail the first reports); ``top`` candidates are kept per wave."""

    directive_window_s: float = DIRECTIVE_WINDOW_S
    directive_grace_s: float = 1_800.0
    top: int = 5


@dataclass(frozen=True)
class Attribution:
    """Candidate orchestrators: one row per (wave, account), best first within a wave.
    ``post``: the candidate's first post naming the target in the directive window (the
    evidence an analyst cites), -1 when inferred."""

    wave: IntArray
    account: IntArray
    score: FloatArray
    inferred: BoolArray
    post: IntArray


def _audience_keys(data: Data) -> IntArray:
    """Sorted (reporter, account) keys: the reporter follows or amplifies the account."""
    edges = data.edges
    keep = np.isin(edges.kind, AUDIENCE_KINDS)
    keys: IntArray = distinct(edges.src[keep] * len(data.accounts) + edges.dst[keep])
    return keys


def _naming_posts(data: Data) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """(named account, author, time, post) of every post that mentions or replies to
    someone, sorted by named account and time."""
    posts = data.posts
    replies = np.flatnonzero(posts.reply_to >= 0)
    named = np.concatenate([posts.mention_account, posts.author[posts.reply_to[replies]]])
    post = np.concatenate([posts.mention_post, replies])
    author, when = posts.author[post], posts.time[post]
    ok = (named >= 0) & (author >= 0) & (named != author) & ~np.isnan(when)
    named, author, when, post = named[ok], author[ok], when[ok], post[ok]
    order = np.lexsort((when, named))
    return named[order], author[order], when[order], post[order]


def attribute(
    data: Data, waves: Waves, flagged: BoolArray, params: AttributionParams | None = None
) -> Attribution:
    """Ranked candidate orchestrators of every flagged wave (see the module docstring)."""
    params = params or AttributionParams()
    n = len(data.accounts)
    audience = _audience_keys(data)
    named, author, when, post = _naming_posts(data)
    member = np.flatnonzero(waves.report_wave >= 0)
    crowd_keys = distinct(waves.report_wave[member] * n + data.reports.reporter[member])
    crowd_wave, crowd = crowd_keys // n, crowd_keys % n
    bounds = np.searchsorted(crowd_wave, np.arange(len(waves) + 1))
    naming_key = named * 1e11 + when
    rows: list[tuple[IntArray, IntArray, FloatArray, BoolArray, IntArray]] = []
    for w in np.flatnonzero(flagged).tolist():
        reporters = crowd[bounds[w] : bounds[w + 1]]
        if len(reporters) == 0:
            continue
        target = waves.target[w]
        start = target * 1e11 + waves.start[w]
        lo = np.searchsorted(naming_key, start - params.directive_window_s)
        hi = np.searchsorted(naming_key, start + params.directive_grace_s)
        # Each author's first naming post in the window (np.unique keeps first indices).
        candidates, first = np.unique(author[lo:hi], return_index=True)
        directive = post[lo:hi][first]
        inferred = len(candidates) == 0
        if inferred:
            candidates = _most_followed(audience, reporters, target, n, params.top)
            directive = np.full(len(candidates), -1)
        keys = (reporters[:, None] * n + candidates[None, :]).ravel()
        slot = np.minimum(np.searchsorted(audience, keys), max(len(audience) - 1, 0))
        reached = (audience[slot] == keys).reshape(len(reporters), len(candidates))
        share = reached.mean(axis=0) if len(audience) else np.zeros(len(candidates))
        best = np.argsort(-share, kind="stable")[: params.top]
        rows.append(
            (
                np.full(len(best), w),
                candidates[best],
                share[best],
                np.full(len(best), inferred),
                directive[best],
            )
        )
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return Attribution(empty, empty.copy(), np.empty(0), np.empty(0, dtype=bool), empty.copy())
    return Attribution(*(np.concatenate(column) for column in zip(*rows, strict=True)))


def _most_followed(
    audience: IntArray, reporters: IntArray, target: int, n: int, top: int
) -> IntArray:
    """The accounts the most reporters follow or amplify (the target excepted)."""
    lo = np.searchsorted(audience, reporters * n)
    hi = np.searchsorted(audience, (reporters + 1) * n)
    counts = hi - lo
    followed = audience[ranges(lo, counts)] % n
    followed = followed[followed != target]
    if len(followed) == 0:
        return np.empty(0, dtype=np.int64)
    accounts, freq = np.unique(followed, return_counts=True)
    most: IntArray = accounts[np.argsort(-freq, kind="stable")[:top]]
    return most
