"""An analysis as the API's documents: waves, groups and account risks (SPEC section 3)."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import numpy as np

from app.detection.data import to_iso
from app.detection.pipeline import Analysis
from app.detection.scores import FLAG
from app.detection.signals import SIGNALS
from app.detection.waves import WaveParams

EXPLAINED_SIGNALS = {
    "directed_share": "{:.0%} of reporters follow an account that named the target just before",
    "exposure_share": "only {:.0%} of reporters had seen the target's own content",
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


def _stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]
    return f"{prefix}_{digest}"


def shape(analysis: Analysis, active_for_s: float = WaveParams().active_for_s) -> dict[str, Any]:
    """``{waves, groups, accounts, enforcement}`` in the API's shapes."""
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

    wave_docs = []
    wave_ids: list[str] = []
    groups_waves: dict[int, set[int]] = {}
    for w in range(len(waves)):
        rows = order[bounds[w] : bounds[w + 1]]
        reporters = np.unique(reports.reporter[rows])
        wave_id = _stable_id("wave", ids[waves.target[w]], reports.event_id[rows[0]])
        wave_ids.append(wave_id)
        in_groups = Counter(group_of[reporters][group_of[reporters] >= 0].tolist())
        groups_here = sorted(g for g, count in in_groups.items() if count >= 2)
        for g in groups_here:
            groups_waves.setdefault(g, set()).add(w)
        score = float(analysis.wave_score[w])
        reasons = Counter(data.reasons[r] for r in reports.reason[rows].tolist())
        wave_docs.append(
            {
                "wave_id": wave_id,
                "target_id": ids[waves.target[w]],
                "content_id": data.contents[waves.content[w]] if waves.content[w] >= 0 else None,
                "start": to_iso(waves.start[w]),
                "end": to_iso(waves.end[w]),
                "report_count": len(rows),
                "reporter_count": len(reporters),
                "score": round(score, 4),
                "label": "orchestrated" if score >= FLAG else "organic",
                "status": "active" if active[w] else "closed",
                "provisional": False,
                "signals": {
                    name: round(float(v), 4)
                    for name, v in zip(SIGNALS, analysis.signals.values[w], strict=True)
                },
                "explanations": _wave_explanations(analysis, w),
                "orchestrators": orchestrators.get(w, []),
                "group_ids": [group_ids[g] for g in groups_here],
                "top_reasons": dict(reasons.most_common(5)),
                "reporters": [
                    {
                        "account_id": ids[a],
                        "reporter_risk": round(float(analysis.reporter_risk[a]), 4),
                    }
                    for a in reporters.tolist()
                ],
            }
        )

    group_docs = []
    for g, members in enumerate(analysis.groups.members):
        waves_in = sorted(groups_waves.get(g, set()))
        group_docs.append(
            {
                "group_id": group_ids[g],
                "size": len(members),
                "members": sorted(ids[m] for m in members.tolist()),
                "cohesion": round(float(analysis.groups.cohesion[g]), 4),
                "wave_ids": [wave_ids[w] for w in waves_in],
                "target_ids": sorted({ids[waves.target[w]] for w in waves_in}),
                "tier_counts": {},
            }
        )
    return {
        "waves": wave_docs,
        "groups": group_docs,
        "accounts": _account_docs(analysis, group_ids),
        "enforcement": _enforcement(analysis),
    }


def _orchestrators(analysis: Analysis) -> dict[int, list[dict[str, Any]]]:
    """Per wave, its candidate orchestrators, best first."""
    found = analysis.orchestrators
    ids = analysis.data.accounts.ids
    by_wave: dict[int, list[dict[str, Any]]] = {}
    for w, account, score, inferred in zip(
        found.wave.tolist(),
        found.account.tolist(),
        found.score.tolist(),
        found.inferred.tolist(),
        strict=True,
    ):
        by_wave.setdefault(w, []).append(
            {"account_id": ids[account], "score": round(score, 4), "inferred": inferred}
        )
    return by_wave


def _wave_explanations(analysis: Analysis, w: int) -> list[str]:
    """The signals that pushed this wave's score furthest, in words."""
    contributions = analysis.wave_contributions[w]
    toward = -1 if analysis.wave_score[w] < FLAG else 1
    ranked = np.argsort(-toward * contributions)
    lines = []
    for column in ranked.tolist():
        name = SIGNALS[column]
        if name in EXPLAINED_SIGNALS and toward * contributions[column] > 0.25:
            value = float(analysis.signals.values[w, column])
            lines.append(EXPLAINED_SIGNALS[name].format(value))
        if len(lines) == 3:
            break
    return lines


def _account_docs(analysis: Analysis, group_ids: list[str]) -> list[dict[str, Any]]:
    data = analysis.data
    record = analysis.reliability
    record_score = record.score
    received = np.bincount(data.reports.target, minlength=len(data.accounts))
    updated = to_iso(data.now)
    by_content = _content_risks(analysis)
    found = analysis.recreations
    replaces = {
        int(new): (int(old), float(shared))
        for new, old, shared in zip(found.new, found.old, found.shared_follows, strict=True)
    }
    docs = []
    for a, account_id in enumerate(data.accounts.ids):
        group = int(analysis.groups.account_group[a])
        risk = float(analysis.reporter_risk[a])
        explanations = []
        if record.reports[a]:
            explanations.append(f"filed {int(record.reports[a])} reports")
        if group >= 0:
            explanations.append(
                f"reports in lockstep with {len(analysis.groups.members[group]) - 1} other accounts"
            )
        if record.unfounded[a]:
            explanations.append(f"{int(record.unfounded[a])} of its decided reports were unfounded")
        if analysis.target_risk[a] >= FLAG:
            explanations.append(f"{analysis.target_risk[a]:.0%} {ORCHESTRATED_SHARE}")
        old, shared = replaces.get(a, (-1, 0.0))
        if old >= 0:
            explanations.append(
                f"likely re-creation of suspended {data.accounts.ids[old]}: a variant of its "
                f"handle, created after the suspension, {shared:.0%} of the same follows"
            )
        docs.append(
            {
                "account_id": account_id,
                "tier": None,
                "tier_label": None,
                "tier_confidence": 0.0,
                "reporter_risk": round(risk, 4),
                "target_risk": round(float(analysis.target_risk[a]), 4),
                "group_ids": [group_ids[group]] if group >= 0 else [],
                "reliability": {
                    "reports": int(record.reports[a]),
                    "upheld": int(record.upheld[a]),
                    "unfounded": int(record.unfounded[a]),
                    "score": round(float(record_score[a]), 4),
                },
                "recreated_from": data.accounts.ids[old] if old >= 0 else None,
                "explanations": explanations,
                "content_risk": by_content.get(a, {}),
                "reports_received": int(received[a]),
                "updated_at": updated,
            }
        )
    return docs


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


def _enforcement(analysis: Analysis) -> dict[str, str]:
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
