"""Stage 7: the supporter network, its three tiers and its hubs.

Seeds are what the earlier stages and the platform already know: the accounts that
report in orchestrated waves, the accounts that named their targets just before, and
accounts labelled ``extremist``. Seeds only say where to look (a label is a prior, not
a verdict). The community grows from them through ties (follows and amplifications,
either direction) by personalised PageRank, cut where the fewest ties leave it: the
lowest-conductance prefix of the accounts sorted by PageRank per tie. An account is a
member on its own ties and audience: most of its ties lead into the community (each
weighted by 1/log of the tied account's audience, so following a celebrity counts for
less than following an obscure peer), most of the accounts tied to it are there too
(a journalist who quotes the officials is read by ordinary users), and it is tied to
an anchor, an account the seeds amplify beyond chance (a coarse cut's ordinary crowd
is tied to itself, not to the officials and hubs). An account whose conduct places it
in the network (it amplifies two or more of it and is tied to three or more anchors)
needs 35% of its ties inside, not most: supporters follow popular ordinary accounts as
camouflage. The test is repeated until it settles, over the cut and the accounts at
its edge. Victims are never members.

Sources are the members the members amplify far more often than chance (beyond the
Poisson tail at the members' mean); amplified accounts that are not members (a wire
service, a researcher) are cited, not tiered. Among the sources the direction of ties
decides: tier 1 is amplified and followed by the other sources more than it amplifies
or follows them, and by at least as many as a typical source ties to (the officials,
and the supervisor the officials amplify); the other sources are tier 2 (they amplify
tier 1 and have a following of its own), and so is every source that named the target
of an orchestrated wave. The other members are tier 3, unless the network appears to
strike them, or anyone reports them and they neither amplify the network nor report in
orchestrated waves (reported beyond chance, they must amplify it twice); each is
gathered in the hub (tier-2 account) it is most tied to. The tier model turns what was found
about each member into its calibrated ``confidence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix, diags
from scipy.stats import poisson

from app.detection.attribution import Attribution
from app.detection.data import EDGE_KINDS, BoolArray, Data, FloatArray, IntArray, distinct
from app.detection.model import LogisticModel


@dataclass(frozen=True, kw_only=True)
class NetworkParams:
    """Where the network search starts and what makes a member, a source or a victim.

    ``seed_risk``: the reporter risk that makes an account a seed. ``restart`` and
    ``pagerank_steps``: the personalised PageRank. ``min_share``: the share of its own
    ties and of its audience an account needs inside. ``source_tail``: the Poisson tail
    beyond which an account is amplified more than chance, by at least
    ``min_amplifiers`` accounts. ``min_ties``: ties with members that bring an account at
    the cut's edge into the test; ``min_anchors``: anchors it must be tied to;
    ``max_rounds``: rounds of the test. ``victim_risk``: the target risk that makes an
    account a victim, never a member; ``suspected_target``: the target risk at which it
    is no longer taken for a supporter. An account reported by more accounts than chance
    explains (beyond the Poisson tail ``target_tail`` at the mean per account) is a
    supporter only on its own conduct: it amplifies at least ``conduct_amplified``
    members, or reports in orchestrated waves (reporter risk from ``conduct_risk``); any
    other reported supporter amplifies at least ``min_amplified`` members or reports in
    them.
    An account that amplifies ``conduct_amplified`` of the community's accounts (the
    cut and the members) and is tied to ``conduct_anchors`` anchors needs
    ``conduct_share`` of its ties inside, not ``min_share``."""

    seed_risk: float = 0.8
    restart: float = 0.15
    pagerank_steps: int = 40
    min_share: float = 0.5
    source_tail: float = 1e-3
    min_amplifiers: int = 3
    min_ties: int = 5
    max_rounds: int = 20
    min_anchors: int = 1
    victim_risk: float = 0.5
    suspected_target: float = 0.2
    target_tail: float = 1e-3
    conduct_amplified: int = 2
    min_amplified: int = 1
    conduct_risk: float = 0.5
    conduct_anchors: int = 3
    conduct_share: float = 0.35


TIE_KINDS = tuple(EDGE_KINDS.index(k) for k in ("follow", "retweet", "quote", "like"))
AMPLIFY_KINDS = tuple(EDGE_KINDS.index(k) for k in ("retweet", "quote", "like"))
TIER_LABELS = {1: "official", 2: "supporting_institution", 3: "supporter"}
# What the tier model (params/tier_model.json) reads of each member: its own ties and
# audience, the anchors it is tied to, how many members amplify it and which way ties
# with other sources point, its own reporting and directing, the platform's label (a
# prior whose weight is fitted on worlds where some labels are wrong), and its tier.
TIER_FEATURES = (
    "share",
    "audience",
    "has_audience",
    "log_anchor_ties",
    "log_amplified_by",
    "received_share",
    "reporter_risk",
    "log_directed",
    "labelled",
    "official",
    "institution",
)


@dataclass(frozen=True)
class Network:
    """Per account: ``tier`` (0 outside the network), ``confidence`` (the tier model's
    probability that the tier is right) and the ``evidence`` it reads (``TIER_FEATURES``,
    one row an account), the share of its
    own ties that lead into the network and of its audience inside it, how many members
    amplify it, how many sources it receives ties from and gives ties to, ``hub``
    (index of its hub, or -1), and ``cited``: amplified by the members far beyond
    chance without being a member (a wire service, outlet or researcher)."""

    tier: IntArray
    confidence: FloatArray
    evidence: FloatArray
    share: FloatArray
    audience: FloatArray
    amplified_by: IntArray
    from_sources: IntArray
    to_sources: IntArray
    directed: IntArray
    hub: IntArray
    cited: BoolArray

    @property
    def hubs(self) -> IntArray:
        found: IntArray = np.flatnonzero(self.tier == 2)
        return found


def _binary(src: IntArray, dst: IntArray, n: int) -> csr_matrix:
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    matrix = csr_matrix(
        (np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n, n), dtype=np.float64
    )
    matrix.data[:] = 1.0
    return matrix


def tie_matrices(data: Data) -> tuple[csr_matrix, csr_matrix]:
    """(ties, amplifications): row ``a`` has a 1 for each account ``a`` follows or
    amplifies (edges of those kinds, and reshared posts), and for each it amplifies."""
    n = len(data.accounts)
    edges, posts = data.edges, data.posts
    reshares = np.flatnonzero(posts.reshare_of >= 0)
    reshare_src = posts.author[reshares]
    reshare_dst = posts.author[posts.reshare_of[reshares]]
    amplify = np.isin(edges.kind, AMPLIFY_KINDS)
    amplifications = _binary(
        np.concatenate([edges.src[amplify], reshare_src]),
        np.concatenate([edges.dst[amplify], reshare_dst]),
        n,
    )
    tie = np.isin(edges.kind, TIE_KINDS)
    ties = _binary(
        np.concatenate([edges.src[tie], reshare_src]),
        np.concatenate([edges.dst[tie], reshare_dst]),
        n,
    )
    return ties, amplifications


def _personal_pagerank(
    undirected: csr_matrix, degree: FloatArray, seeds: IntArray, params: NetworkParams
) -> FloatArray:
    walk = (diags(1.0 / np.maximum(degree, 1.0)) @ undirected).T.tocsr()
    restart = np.zeros(undirected.shape[0])
    restart[seeds] = 1.0 / len(seeds)
    rank = restart.copy()
    for _ in range(params.pagerank_steps):
        rank = params.restart * restart + (1.0 - params.restart) * (walk @ rank)
    return rank


def _lowest_conductance_prefix(
    undirected: csr_matrix, degree: FloatArray, order: IntArray, shortest: int
) -> int:
    """Length of the prefix of ``order`` (at least ``shortest``, at most half the ties)
    that the fewest ties leave, relative to the ties it holds."""
    n = undirected.shape[0]
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    pairs = undirected.tocoo()
    closes_at = np.maximum(position[pairs.row], position[pairs.col])
    inside = np.cumsum(np.bincount(closes_at, minlength=n))
    volume = np.cumsum(degree[order])
    conductance = (volume - inside) / np.maximum(np.minimum(volume, volume[-1] - volume), 1.0)
    longest = max(int(np.searchsorted(volume, volume[-1] / 2.0)), shortest)
    return shortest + int(np.argmin(conductance[shortest - 1 : longest]))


def _beyond_chance(counts: np.ndarray, sample: np.ndarray, tail: float) -> BoolArray:
    """Counts beyond the Poisson ``tail`` at the mean of ``sample`` (what chance gives)."""
    chance = float(sample.mean()) if len(sample) else 0.0
    found: BoolArray = counts > poisson.isf(tail, chance)
    return found


def _anchors(amplifications: csr_matrix, seeds: IntArray, params: NetworkParams) -> BoolArray:
    """The accounts the seeds amplify far beyond chance (the Poisson tail at the seeds'
    mean, and at least ``min_amplifiers`` of them): the officials and hubs the network
    is built around, known before any membership is decided."""
    is_seed = np.zeros(amplifications.shape[0])
    is_seed[seeds] = 1.0
    by_seeds = amplifications.T @ is_seed
    beyond_chance = _beyond_chance(by_seeds, by_seeds[seeds], params.source_tail)
    found: BoolArray = beyond_chance & (by_seeds >= params.min_amplifiers)
    return found


def _members(
    data: Data,
    ties: csr_matrix,
    amplifications: csr_matrix,
    seeds: IntArray,
    conduct: BoolArray,
    params: NetworkParams,
) -> tuple[BoolArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Network membership; each account's weighted share of ties into the network, the
    share of its audience (the accounts tied to it) inside the network (NaN with no
    audience in the data), the weight of its own ties, and how many anchors it is tied
    to.

    Seeds (labelled accounts among them) only decide where the cut is drawn; an account
    is a member on its own ties and audience, or, with no ties in the data, on its own
    conduct (``conduct``: it reported in orchestrated waves). Unless it is one of the
    accounts the seeds amplify (``_anchors``), its ties must also reach
    ``min_anchors`` of them: a community drawn from few seeds can take in a neighbouring
    crowd of ordinary accounts, whose ties lead to one another, never to the network's
    officials and hubs."""
    n = len(data.accounts)
    undirected = ((ties + ties.T) > 0).astype(np.float64)
    degree = np.asarray(undirected.sum(axis=1)).ravel()
    connected = seeds[degree[seeds] > 0]
    cut = np.zeros(n, dtype=bool)
    if len(connected):
        rank = _personal_pagerank(undirected, degree, connected, params)
        order = np.argsort(-rank / np.maximum(degree, 1.0), kind="stable")
        prefix = _lowest_conductance_prefix(undirected, degree, order, len(connected))
        cut[order[:prefix]] = True
    audience_size = np.asarray(ties.sum(axis=0)).ravel()
    weighted = ties @ diags(1.0 / np.log(2.0 + audience_size))
    own = np.asarray(weighted.sum(axis=1)).ravel()

    def share_in(inside: BoolArray) -> FloatArray:
        found: FloatArray = (weighted @ inside.astype(np.float64)) / np.maximum(own, 1e-12)
        return found

    def audience_in(inside: BoolArray) -> FloatArray:
        """The share of its audience inside, counting one more account outside: one
        supporter among two followers is no majority (a user who reshared a viral
        post and follows a supporter)."""
        found: FloatArray = np.where(
            audience_size > 0,
            (ties.T @ inside.astype(np.float64)) / (audience_size + 1.0),
            np.nan,
        )
        return found

    def belongs(inside: BoolArray) -> BoolArray:
        """Most of its own ties lead into the network, and its audience, if the data
        shows one, is mostly there too: a journalist who follows and quotes the
        officials is followed by ordinary readers. An account whose conduct places it
        in the network (it amplifies ``conduct_amplified`` or more of it and is tied to
        ``conduct_anchors`` or more anchors) needs only ``conduct_share`` of its ties
        inside: supporters follow popular ordinary accounts as camouflage, which
        halves their share, while watchers and passers-by are tied to an anchor or two
        and amplify at most one account of the network."""
        audience = audience_in(inside)
        amplifying = amplifications @ inside.astype(np.float64) >= params.conduct_amplified
        needed = np.where(amplifying & well_anchored, params.conduct_share, params.min_share)
        found: BoolArray = (share_in(inside) >= needed) & ~(audience < params.min_share)
        return found

    # The belonging test, applied until it settles, against the community: the cut and
    # the members found so far (an account whose own ties the data does not show, such
    # as a channel the network retweets, stays part of where ties lead without being
    # a member). It is applied to the cut and to the accounts at its edge with several
    # ties with members (either way: a hub is followed by its crowd), since a cut is
    # coarse there.
    anchors = _anchors(amplifications, seeds, params)
    anchor_ties = ties @ anchors.astype(np.float64)
    anchored = anchor_ties >= params.min_anchors
    well_anchored = anchor_ties >= params.conduct_anchors
    member = cut & (own > 0)
    for _ in range(params.max_rounds):
        inside = member.astype(np.float64)
        near = (cut | (ties @ inside + ties.T @ inside >= params.min_ties)) & (anchored | anchors)
        settled = np.where(own > 0, near & belongs(cut | member), conduct)
        if np.array_equal(settled, member):
            break
        member = settled
    community = cut | member
    return member, share_in(community), audience_in(community), own, anchor_ties


def find_network(
    data: Data,
    ties: csr_matrix,
    amplifications: csr_matrix,
    reporter_risk: FloatArray,
    target_risk: FloatArray,
    orchestrators: Attribution,
    flagged: BoolArray,
    tier_model: LogisticModel | None,
    params: NetworkParams | None = None,
) -> Network:
    """Tiers and hubs (see the module docstring); ``ties`` and ``amplifications`` as
    :func:`tie_matrices` gives them. ``tier_model`` turns each member's evidence into
    its calibrated ``confidence`` (None while that model is being fitted: 0)."""
    params = params or NetworkParams()
    n = len(data.accounts)
    reporter_seed = reporter_risk >= params.seed_risk
    named = ~orchestrators.inferred & flagged[orchestrators.wave]
    directed = np.bincount(orchestrators.account[named], minlength=n)
    seeds = np.flatnonzero(reporter_seed | (directed > 0) | data.accounts.known_member)
    member, share, audience, own, anchor_ties = _members(
        data, ties, amplifications, seeds, reporter_seed, params
    )
    victim = target_risk >= params.victim_risk
    member &= ~victim

    amplified_by = np.rint(amplifications.T @ member.astype(np.float64)).astype(np.int64)
    # The accounts the members amplify far beyond chance. Those that are members by
    # their own ties and audience are the network's sources; a wire service, outlet or
    # researcher the network retweets is cited, not a member.
    beyond_chance = _beyond_chance(amplified_by, amplified_by[member], params.source_tail)
    amplified = beyond_chance & (amplified_by >= params.min_amplifiers)
    source = amplified & member
    cited = amplified & ~member & ~victim
    is_source = source.astype(np.float64)
    from_sources = np.rint(ties.T @ is_source).astype(np.int64)
    to_sources = np.rint(ties @ is_source).astype(np.int64)
    # An official is a hub of the sources' own graph: more sources tie to it than it
    # ties to, and at least as many as a typical source ties to (the median). An
    # account the members amplify that one or two sources tie to and that ties to none
    # sits outside the hierarchy: a lopsided count of one or two makes no official.
    typical = float(np.median(to_sources[source])) if source.any() else 0.0
    official = source & (from_sources > to_sources) & (from_sources >= typical) & (directed == 0)

    # A supporter is never an account the network appears to strike: supporters are
    # seldom reported in waves at all, officials for what they post (organic waves),
    # and an account reported in waves that look partly orchestrated (target_risk from
    # ``suspected_target``) is far likelier a victim whose campaign was missed.
    supporter = member & ~source & (target_risk < params.suspected_target)
    # Nor is an account reported far beyond chance taken in on its ties alone: a
    # journalist or analyst the brigade struck unseen follows the officials and hubs it
    # watches, and the supporters follow it by the thousand as camouflage. Supporters
    # amplify the network; watchers and victims seldom do. Scattered ordinary reports
    # reach supporters too, so only a count beyond chance triggers the rule; where most
    # accounts are never reported, the tail falls to a few reporters and the rule asks
    # conduct of most reported accounts: fewer taken in, never more.
    pairs = distinct(data.reports.target.astype(np.int64) * max(n, 1) + data.reports.reporter)
    reported_by = np.bincount(pairs // max(n, 1), minlength=n)
    reported = _beyond_chance(reported_by, reported_by, params.target_tail)
    amplifying = amplifications @ member.astype(np.float64)
    orchestrating = reporter_risk >= params.conduct_risk
    conduct = (amplifying >= params.conduct_amplified) | orchestrating
    supporter &= conduct | ~reported
    # And an account anyone reports is a supporter only with some conduct of its own:
    # it amplifies the network at least once or reports in its waves. A victim whose
    # small campaign went unflagged, watching the officials and hubs and followed by
    # supporters as camouflage, has its ties in the network and does neither. Accounts
    # nobody reports (most of a platform; every account of a tweet archive) are
    # judged on their ties.
    supporter &= (amplifying >= params.min_amplified) | orchestrating | (reported_by == 0)
    member = supporter | source
    tier = np.where(supporter, 3, 0)
    tier[source] = 2
    tier[official] = 1
    evidence = np.column_stack(
        [
            np.where(own > 0, share, 0.0),
            np.nan_to_num(audience, nan=0.0),
            ~np.isnan(audience),
            np.log1p(anchor_ties),
            np.log1p(amplified_by),
            (from_sources + 1.0) / (from_sources + to_sources + 2.0),
            reporter_risk,
            np.log1p(directed),
            data.accounts.known_member,
            tier == 1,
            tier == 2,
        ]
    ).astype(np.float64)
    confidence = np.zeros(n)
    if tier_model is not None and member.any():
        confidence[member] = tier_model.probability(evidence[member])
    hub = _gather(ties, tier)
    return Network(
        tier.astype(np.int64),
        confidence,
        evidence,
        share,
        audience,
        amplified_by,
        from_sources,
        to_sources,
        directed.astype(np.int64),
        hub,
        cited,
    )


def _gather(ties: csr_matrix, tier: IntArray) -> IntArray:
    """Each supporter's hub: the tier-2 account it is tied to that most of its
    fellow members are also tied to (or, with no direct tie, the one they share)."""
    hubs = np.flatnonzero(tier == 2)
    hub = np.full(len(tier), -1, dtype=np.int64)
    supporters = np.flatnonzero(tier == 3)
    if len(hubs) == 0 or len(supporters) == 0:
        return hub
    members = np.flatnonzero(tier > 0)
    own_ties = ties[supporters][:, members]
    to_hub = ties[:, hubs]
    peers = np.maximum(np.asarray(own_ties.sum(axis=1)).ravel(), 1.0)
    score = (2.0 * to_hub[supporters] + diags(1.0 / peers) @ (own_ties @ to_hub[members])).tocsr()
    best = np.asarray(score.argmax(axis=1)).ravel()
    chosen = np.asarray(score.max(axis=1).toarray()).ravel() > 0
    hub[supporters[chosen]] = hubs[best[chosen]]
    return hub
