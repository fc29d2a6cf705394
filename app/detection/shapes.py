"""An analysis as the API's documents: waves, groups and account risks (SPEC section 3)."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Literal, cast

import numpy as np

from app.detection.data import EDGE_KINDS, BoolArray, distinct, to_iso
from app.detection.documents import (
    AccountRisk,
    Action,
    Arrivals,
    DirectedWave,
    Directive,
    Documents,
    Group,
    Hub,
    Network,
    Orchestrator,
    Reliability,
    Tie,
    TierListing,
    Wave,
)
from app.detection.network import TIER_FEATURES, TIER_LABELS
from app.detection.pipeline import Analysis
from app.detection.scores import FLAG
from app.detection.signals import SIGNALS

EXPLAINED_SIGNALS = {
    "directed_share": "{:.0%} of reporters follow an account that named the target just before",
    "exposure_share": "{:.0%} of reporters had seen the target's own content",
    "common_upstream_share": "{:.0%} of reporters follow one and the same account",
    "unexposed_fan_share": "{:.0%} of reporters follow that account but never saw the target",
    "duplicate_text_share": "{:.0%} of report texts are near-duplicates",
    "reason_concentration": "{:.0%} of reports give the same reason",
    "new_account_share": "{:.0%} of reporters' accounts are under 30 days old",
    "repeat_overlap": "the same crowd struck another target together (excess overlap {:.0%})",
    "lockstep_share": "{:.0%} of reporters belong to lockstep groups",
    "unfounded_rate": "reporters' decided reports elsewhere were {:.0%} unfounded",
    "peak_hour_share": "{:.0%} of reports arrived within one hour",
    "follow_within_share": "{:.0%} of reporters follow another reporter",
}


# How an account's target risk is put in words (the fast path replaces this line).
ORCHESTRATED_SHARE = "of recent reports against it came in orchestrated waves"
CORE_BURST = "accounts that took part in orchestrated waves elsewhere struck it in a burst"


def target_explanations(target_risk: float, core_risk: float) -> list[str]:
    """Why an account is held, in words: the campaign share, the core's burst, or both."""
    lines = []
    if target_risk >= FLAG and core_risk < target_risk:
        lines.append(f"{target_risk:.0%} {ORCHESTRATED_SHARE}")
    if core_risk >= FLAG:
        lines.append(f"{CORE_BURST} (score {core_risk:.2f}), however many others report it")
    return lines


def is_target_explanation(line: str) -> bool:
    return line.endswith(ORCHESTRATED_SHARE) or line.startswith(CORE_BURST)


def _stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]
    return f"{prefix}_{digest}"


TIER_SAMPLE = 20
# The network picture: supporters drawn per hub (fewer when there are many hubs, so the
# picture stays near DRAWN_SUPPORTERS, which a browser lays out in a second or two), and
# ties at most.
DRAWN_PER_HUB = 25
DRAWN_SUPPORTERS = 1_000
MAX_TIES = 4_000
# A tie's kind, strongest first: amplifying says more than following.
TIE_KINDS = ("retweet", "quote", "like", "follow")
# A wave's arrival curve has at most this many points: one per minute, or coarser
# buckets (whole minutes) for long waves.
ARRIVAL_POINTS = 720


def arrivals(times: np.ndarray, start: float, end: float) -> Arrivals:
    """Reports per bucket from the wave's start: what the dashboard draws."""
    minutes = max(1.0, np.ceil((end - start) / 60.0))
    bucket_s = 60 * int(np.ceil(minutes / ARRIVAL_POINTS))
    counts = np.bincount(((times - start) // bucket_s).astype(np.int64).clip(0))
    return Arrivals(bucket_s=bucket_s, counts=counts.tolist())


def shape(analysis: Analysis) -> Documents:
    """The analysis as documents: waves, groups, accounts, enforcement, network. A wave
    is ``active`` while reports arrived within the analysis's ``waves.active_for_s``."""
    active_for_s = analysis.params.waves.active_for_s
    data, waves = analysis.data, analysis.waves
    ids = data.accounts.ids
    reports = data.reports
    member = np.flatnonzero(waves.report_wave >= 0)
    order = member[np.lexsort((reports.time[member], waves.report_wave[member]))]
    wave_of = waves.report_wave[order]
    bounds = np.searchsorted(wave_of, np.arange(len(waves) + 1))
    group_of = analysis.groups.account_group
    group_ids = [
        _stable_id("grp", *sorted(ids[m] for m in members.tolist()))
        for members in analysis.groups.members
    ]
    active = waves.active(data.now, active_for_s)
    orchestrators = _orchestrators(analysis)
    # Published already (four decimals), and read once per reporter of every wave.
    reporter_risk = analysis.reporter_risk.tolist()

    wave_docs: list[Wave] = []
    wave_ids: list[str] = []
    groups_waves: dict[int, set[int]] = {}
    for w in range(len(waves)):
        rows = order[bounds[w] : bounds[w + 1]]
        reporters = distinct(reports.reporter[rows])
        wave_id = _stable_id("wave", ids[waves.target[w]], analysis.wave_first_event[w])
        wave_ids.append(wave_id)
        in_groups = Counter(group_of[reporters][group_of[reporters] >= 0].tolist())
        groups_here = sorted(g for g, count in in_groups.items() if count >= 2)
        for g in groups_here:
            groups_waves.setdefault(g, set()).add(w)
        score = float(analysis.wave_score[w])
        reasons = Counter(data.reasons[r] for r in reports.reason[rows].tolist())
        wave_docs.append(
            Wave(
                wave_id=wave_id,
                target_id=ids[waves.target[w]],
                content_id=data.contents[waves.content[w]] if waves.content[w] >= 0 else None,
                start=to_iso(waves.start[w]),
                end=to_iso(waves.end[w]),
                report_count=len(rows),
                reporter_count=len(reporters),
                score=round(score, 4),
                label="orchestrated" if score >= FLAG else "organic",
                status="active" if active[w] else "closed",
                provisional=False,
                signals={
                    name: round(float(v), 4)
                    for name, v in zip(SIGNALS, analysis.signals.values[w], strict=True)
                },
                contributions={
                    name: round(float(v), 3)
                    for name, v in zip(SIGNALS, analysis.wave_contributions[w], strict=True)
                },
                explanations=_wave_explanations(analysis, w),
                orchestrators=orchestrators.get(w, []),
                group_ids=[group_ids[g] for g in groups_here],
                top_reasons=dict(reasons.most_common(5)),
                arrivals=arrivals(reports.time[rows], waves.start[w], waves.end[w]),
                # As plain values, made models by the wave's own validation in one go.
                reporters=[
                    {"account_id": ids[a], "reporter_risk": reporter_risk[a]}
                    for a in reporters.tolist()
                ],
            )
        )

    group_docs = []
    tier = analysis.network.tier
    for g, members in enumerate(analysis.groups.members):
        waves_in = sorted(groups_waves.get(g, set()))
        tiers_here = Counter(str(t) for t in tier[members].tolist() if t > 0)
        group_docs.append(
            Group(
                group_id=group_ids[g],
                size=len(members),
                members=sorted(ids[m] for m in members.tolist()),
                cohesion=round(float(analysis.groups.cohesion[g]), 4),
                wave_ids=[wave_ids[w] for w in waves_in],
                target_ids=sorted({ids[waves.target[w]] for w in waves_in}),
                tier_counts=dict(sorted(tiers_here.items())),
            )
        )
    return Documents(
        waves=wave_docs,
        groups=group_docs,
        accounts=_account_docs(analysis, group_ids, _directed(analysis, wave_docs)),
        enforcement=_enforcement(analysis),
        network=network_document(analysis),
    )


def network_document(analysis: Analysis) -> Network:
    """``GET /v1/network/tiers``: tiers 1 and 2 in full (most amplified first), a
    sample of tier 3 (most certain first), each hub with its gathered supporters, and
    the ties among the accounts a picture of it draws."""
    network, ids = analysis.network, analysis.data.accounts.ids
    tiers: dict[str, TierListing] = {}
    drawn = np.zeros(len(ids), dtype=bool)
    for t in (1, 2, 3):
        inside = np.flatnonzero(network.tier == t)
        key = -network.amplified_by[inside] if t < 3 else -network.confidence[inside]
        ranked = inside[np.argsort(key, kind="stable")]
        if t < 3:
            drawn[ranked] = True
            listed = [ids[a] for a in ranked.tolist()]
            tiers[str(t)] = TierListing(label=TIER_LABELS[t], count=len(inside), accounts=listed)
        else:
            sample = ranked[:TIER_SAMPLE]
            drawn[sample] = True
            listed = [ids[a] for a in sample.tolist()]
            tiers[str(t)] = TierListing(label=TIER_LABELS[t], count=len(inside), sample=listed)
    gathered = np.flatnonzero(network.hub >= 0)
    by_hub = gathered[np.argsort(network.hub[gathered], kind="stable")]
    bounds = np.searchsorted(network.hub[by_hub], network.hubs, side="left")
    ends = np.searchsorted(network.hub[by_hub], network.hubs, side="right")
    per_hub = max(1, min(DRAWN_PER_HUB, DRAWN_SUPPORTERS // max(1, len(network.hubs))))
    hubs = []
    for h, begin, end in zip(network.hubs.tolist(), bounds, ends, strict=True):
        crowd = sorted(by_hub[begin:end].tolist(), key=ids.__getitem__)
        drawn[crowd[:per_hub]] = True
        hubs.append(
            Hub(account_id=ids[h], member_count=len(crowd), members=[ids[m] for m in crowd])
        )
    hubs.sort(key=lambda hub: (-hub.member_count, hub.account_id))
    return Network(
        tiers=tiers, hubs=hubs, ties=_ties(analysis, drawn), updated_at=to_iso(analysis.data.now)
    )


def _ties(analysis: Analysis, drawn: BoolArray) -> list[Tie]:
    """Ties among the ``drawn`` accounts (``Network.ties``)."""
    network, data = analysis.network, analysis.data
    edges = data.edges
    rank = np.full(len(EDGE_KINDS), len(TIE_KINDS))
    for r, kind in enumerate(TIE_KINDS):
        rank[EDGE_KINDS.index(kind)] = r
    keep = drawn[edges.src] & drawn[edges.dst] & (edges.src != edges.dst)
    keep &= rank[edges.kind] < len(TIE_KINDS)
    src, dst, strength = edges.src[keep], edges.dst[keep], rank[edges.kind[keep]]
    if len(src) == 0:
        return []
    # One tie per pair (either direction), its strongest kind; ties of the officials and
    # institutions first, then the rest, each in a stable order.
    low, high = np.minimum(src, dst), np.maximum(src, dst)
    leads = (network.tier[low] == 1) | (network.tier[low] == 2)
    leads |= (network.tier[high] == 1) | (network.tier[high] == 2)
    order = np.lexsort((strength, high, low, ~leads))
    low, high, strength, leads = low[order], high[order], strength[order], leads[order]
    first = np.concatenate([[True], (low[1:] != low[:-1]) | (high[1:] != high[:-1])])
    pairs = np.flatnonzero(first)[:MAX_TIES]
    ids = data.accounts.ids
    return [
        Tie(source=ids[low[p]], target=ids[high[p]], kind=TIE_KINDS[strength[p]])
        for p in pairs.tolist()
    ]


def _orchestrators(analysis: Analysis) -> dict[int, list[Orchestrator]]:
    """Per wave, its candidate orchestrators, best first, each with its naming post."""
    found = analysis.orchestrators
    posts = analysis.data.posts
    ids = analysis.data.accounts.ids
    by_wave: dict[int, list[Orchestrator]] = {}
    for w, account, score, inferred, post in zip(
        found.wave.tolist(),
        found.account.tolist(),
        found.score.tolist(),
        found.inferred.tolist(),
        found.post.tolist(),
        strict=True,
    ):
        directive = (
            Directive(post_id=posts.post_id[post], created_at=to_iso(posts.time[post]))
            if post >= 0
            else None
        )
        by_wave.setdefault(w, []).append(
            Orchestrator(
                account_id=ids[account],
                score=round(score, 4),
                inferred=inferred,
                directive=directive,
            )
        )
    return by_wave


def _directed(analysis: Analysis, wave_docs: list[Wave]) -> dict[int, list[DirectedWave]]:
    """Per account, the orchestrated waves it is listed as directing, newest first."""
    found = analysis.orchestrators
    by_account: dict[int, list[DirectedWave]] = {}
    for w, account, score, inferred in zip(
        found.wave.tolist(),
        found.account.tolist(),
        found.score.tolist(),
        found.inferred.tolist(),
        strict=True,
    ):
        wave = wave_docs[w]
        by_account.setdefault(account, []).append(
            DirectedWave(
                wave_id=wave.wave_id,
                target_id=wave.target_id,
                start=wave.start,
                score=wave.score,
                attribution=round(score, 4),
                inferred=inferred,
            )
        )
    for waves in by_account.values():
        waves.sort(key=lambda d: (d.start, d.wave_id), reverse=True)
    return by_account


def orchestrator_risk(directed: list[DirectedWave]) -> float:
    """The strongest evidence that the account directed a wave by naming its target."""
    return max((d.score * d.attribution for d in directed if not d.inferred), default=0.0)


def _wave_explanations(analysis: Analysis, w: int) -> list[str]:
    """The signals that pushed this wave's score furthest, in words; first, when its
    coordinated core decided the score, that."""
    contributions = analysis.wave_contributions[w]
    toward = -1 if analysis.wave_score[w] < FLAG else 1
    ranked = np.argsort(-toward * contributions)
    core = float(analysis.wave_core_score[w])
    lines = []
    if core >= FLAG and core >= analysis.wave_score[w]:
        lines.append(f"{CORE_BURST} within it (score {core:.2f})")
    for column in ranked.tolist():
        name = SIGNALS[column]
        if name in EXPLAINED_SIGNALS and toward * contributions[column] > 0.25:
            value = float(analysis.signals.values[w, column])
            lines.append(EXPLAINED_SIGNALS[name].format(value))
        if len(lines) == 3 + bool(lines and lines[0].startswith(CORE_BURST)):
            break
    return lines


def _struck(analysis: Analysis) -> dict[int, str]:
    """Per target of orchestrated waves, what struck it, in words of its own: how many
    such waves in the days looked back from its latest one, their reports and the latest's
    start. A list of targets that all say "100% of recent reports ..." tells an analyst
    nothing about which to open first."""
    waves, lookback = analysis.waves, analysis.params.target_lookback_s
    flagged = np.flatnonzero(analysis.wave_score >= FLAG)
    reports = np.bincount(waves.report_wave[waves.report_wave >= 0], minlength=len(waves))
    lines: dict[int, str] = {}
    if len(flagged) == 0:
        return lines
    flagged = flagged[np.argsort(waves.target[flagged], kind="stable")]
    targets, starts = np.unique(waves.target[flagged], return_index=True)
    for target, mine in zip(targets.tolist(), np.split(flagged, starts[1:]), strict=True):
        recent = mine[waves.end[mine] >= waves.end[mine].max() - lookback]
        latest = recent[np.argmax(waves.start[recent])]
        count, filed = len(recent), int(reports[recent].sum())
        lines[target] = (
            f"struck by {count} orchestrated wave{'s' if count != 1 else ''} ({filed:,} "
            f"reports) in the {lookback / 86_400:g} days to its latest, which began "
            f"{to_iso(waves.start[latest])}"
        )
    return lines


def _account_docs(
    analysis: Analysis, group_ids: list[str], directed: dict[int, list[DirectedWave]]
) -> list[AccountRisk]:
    data = analysis.data
    struck = _struck(analysis)
    record = analysis.reliability
    record_score = record.score
    received = np.bincount(data.reports.target, minlength=len(data.accounts))
    updated = to_iso(data.now)
    by_content = _content_risks(analysis)
    hub = analysis.network.hub
    hub_sizes = np.bincount(hub[hub >= 0], minlength=len(data.accounts))
    found = analysis.recreations
    replaces = {
        int(new): (int(old), float(shared), bool(inherits))
        for new, old, shared, inherits in zip(
            found.new, found.old, found.shared_ties, found.inherits, strict=True
        )
    }
    # Columns as Python lists once: indexing numpy per account and field costs more
    # than everything else here on a graph-heavy data set. The risks are published
    # values already (pipeline.analyze): rounding them again would change nothing.
    filed_by, upheld_by, unfounded_by = (
        record.reports.tolist(),
        record.upheld.tolist(),
        record.unfounded.tolist(),
    )
    record_scores = [round(score, 4) for score in record_score.tolist()]
    received_by = received.tolist()
    group_of, reporter_risk = (
        analysis.groups.account_group.tolist(),
        analysis.reporter_risk.tolist(),
    )
    target_risk, core_risk = analysis.target_risk.tolist(), analysis.core_risk.tolist()
    exposure, tiers = analysis.flagged_exposure.tolist(), analysis.network.tier.tolist()
    confidence = [round(c, 4) for c in analysis.network.confidence.tolist()]
    network_cited = analysis.network.cited.tolist()
    docs = []
    for a, account_id in enumerate(data.accounts.ids):
        group = group_of[a]
        explanations = []
        filed = filed_by[a]
        if filed:
            explanations.append(f"filed {filed} report{'s' if filed != 1 else ''}")
        if group >= 0:
            explanations.append(
                f"reports in lockstep with {len(analysis.groups.members[group]) - 1} other accounts"
            )
        if unfounded_by[a]:
            explanations.append(f"{unfounded_by[a]} of its decided reports were unfounded")
        seen = exposure[a]
        if seen > 0:
            share = "under 1%" if seen < 0.005 else f"{seen:.0%}"
            explanations.append(
                f"had seen the target's content (follows, engaged with or reshared it, or "
                f"follows someone who reshared it) in {share} of its reports in "
                "orchestrated waves"
            )
        if a in struck:
            explanations.append(struck[a])
        explanations += target_explanations(target_risk[a], core_risk[a])
        old, shared, inherits = replaces.get(a, (-1, 0.0, False))
        if old >= 0:
            explanations.append(
                f"likely re-creation of {data.accounts.handle[old] or data.accounts.ids[old]} "
                f"({data.accounts.ids[old]}): a variant of its handle "
                f"that appeared after it went quiet, {shared:.0%} of the same follows and "
                "amplifications, more than unrelated accounts share; "
                + (
                    "inherits its report history"
                    if inherits
                    else "too little evidence to inherit its report history"
                )
            )
        led = directed.get(a, [])
        named = [d for d in led if not d.inferred]
        if named:
            explanations.append(
                f"named the target just before {len(named)} orchestrated "
                f"wave{'s' if len(named) != 1 else ''} (orchestrator risk "
                f"{orchestrator_risk(led):.2f})"
            )
        if len(led) > len(named):
            unordered = len(led) - len(named)
            explanations.append(
                f"among the accounts most followed by the crowds of {unordered} orchestrated "
                f"wave{'s' if unordered != 1 else ''} that no post ordered (inferred from "
                "shared followings, not its own conduct)"
            )
        t = tiers[a]
        if t or network_cited[a]:
            explanations += _tier_explanations(analysis, a, hub_sizes)
        docs.append(
            AccountRisk(
                account_id=account_id,
                tier=cast(Literal[1, 2, 3], t) if t else None,
                tier_label=TIER_LABELS.get(t),
                tier_confidence=confidence[a],
                tier_evidence=_tier_evidence(analysis, a) if t else [],
                reporter_risk=reporter_risk[a],
                target_risk=target_risk[a],
                core_risk=core_risk[a],
                group_ids=[group_ids[group]] if group >= 0 else [],
                reliability=Reliability(
                    reports=filed,
                    upheld=upheld_by[a],
                    unfounded=unfounded_by[a],
                    score=record_scores[a],
                ),
                recreated_from=data.accounts.ids[old] if old >= 0 else None,
                explanations=explanations,
                content_risk=by_content.get(a, {}),
                reports_received=received_by[a],
                orchestrator_risk=round(orchestrator_risk(led), 4),
                waves_directed=led,
                updated_at=updated,
            )
        )
    return docs


def _tier_evidence(analysis: Analysis, a: int) -> list[str]:
    """What the tier model read of a member (network.TIER_FEATURES), in words, strongest
    first: its own conduct, then its ties and audience, then the platform's label."""
    network = analysis.network
    row = dict(zip(TIER_FEATURES, network.evidence[a].tolist(), strict=True))
    lines = []
    if row["reporter_risk"] >= FLAG:
        lines.append(f"reports in orchestrated waves (reporter risk {row['reporter_risk']:.2f})")
    if network.directed[a]:
        waves = "wave" if network.directed[a] == 1 else "waves"
        lines.append(f"named the target just before {network.directed[a]} orchestrated {waves}")
    group = int(analysis.groups.account_group[a])
    if group >= 0:
        lines.append(f"in a lockstep group of {len(analysis.groups.members[group])} accounts")
    if row["share"] > 0:
        lines.append(f"{row['share']:.0%} of its own ties lead into the network")
    if row["has_audience"]:
        lines.append(f"{row['audience']:.0%} of the accounts tied to it are members")
    anchors = round(float(np.expm1(row["log_anchor_ties"])))
    if anchors:
        lines.append(f"tied to {anchors} of the accounts the network amplifies most")
    if network.amplified_by[a] >= 3:
        lines.append(f"amplified by {network.amplified_by[a]} members")
    if row["labelled"]:
        lines.append("labelled extremist by the platform (a prior, not proof)")
    return lines


def _tier_explanations(analysis: Analysis, a: int, hub_sizes: np.ndarray) -> list[str]:
    """Why the account sits in its tier, in words."""
    network, ids = analysis.network, analysis.data.accounts.ids
    t = int(network.tier[a])
    if t == 0:
        if network.cited[a]:
            return [
                f"cited by the network: amplified by {network.amplified_by[a]} members, "
                "but not a member by its own ties and audience"
            ]
        return []
    lines = [f"tier {t} ({TIER_LABELS[t].replace('_', ' ')})"]
    if t < 3:
        lines.append(
            f"amplified by {network.amplified_by[a]} network members; tied to by "
            f"{network.from_sources[a]} other sources, ties to {network.to_sources[a]}"
        )
    if t == 3 and network.share[a] > 0:
        lines.append(
            f"{network.share[a]:.0%} of its follows and amplifications lead into the network"
        )
        if not np.isnan(network.audience[a]):  # the data shows who is tied to it
            lines.append(f"{network.audience[a]:.0%} of the accounts tied to it are members")
    if network.hub[a] >= 0:
        lines.append(f"gathers around hub {ids[network.hub[a]]}")
    if hub_sizes[a]:
        lines.append(f"hub of {hub_sizes[a]} supporters")
    return lines


CONTENTS_PER_ACCOUNT = 20


def _content_risks(analysis: Analysis) -> dict[int, dict[str, float]]:
    """Per reported account, ``target_risk`` of its most reported content items."""
    found = analysis.content_risk
    order = np.lexsort((-found.weight, found.target))
    risks: dict[int, dict[str, float]] = {}
    for i in order.tolist():
        items = risks.setdefault(int(found.target[i]), {})
        if len(items) < CONTENTS_PER_ACCOUNT:
            items[analysis.data.contents[found.content[i]]] = round(float(found.risk[i]), 4)
    return risks


def _enforcement(analysis: Analysis) -> dict[str, Action]:
    """The enforcement answer for every account that was reported."""
    reported = np.flatnonzero(
        np.bincount(analysis.data.reports.target, minlength=len(analysis.data.accounts)) > 0
    )
    return {
        analysis.data.accounts.ids[a]: "hold_for_review"
        if analysis.target_risk[a] >= FLAG
        else "proceed"
        for a in reported.tolist()
    }
