"""Stage 2, signals: a hand-made directed wave and a hand-made organic wave."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.detection.data import build_data
from app.detection.engine import LocalEngine
from app.detection.signals import compute_signals
from app.detection.waves import find_waves

T0 = 1_500_000_000
DAY = 86_400
CREW = [f"crew{i}" for i in range(12)]
CROWD = [f"crowd{i}" for i in range(12)]
TEMPLATE = "هذا الحساب ينشر الكراهية ويحرض على العنف"
VARIANTS = [
    TEMPLATE,
    TEMPLATE + " !",
    "هذا الحساب ينشر الكراهيه ويحرض على العنف",
    TEMPLATE + " فورا",
]
FREE = [
    "graphic video of an attack",
    "spam links everywhere",
    "this is disgusting",
    "scam selling drugs",
    "صور دموية في المنشور",
    "threatening my friend",
    "fake news again",
    "why is this still here",
    "offensive to my religion",
    "explicit images in replies",
    "bot account posting",
    "please remove this",
]


def world() -> dict[str, list[dict[str, Any]]]:
    accounts = [{"account_id": a, "created_at": T0 - 20 * DAY} for a in CREW]
    accounts += [{"account_id": a, "created_at": T0 - 2000 * DAY} for a in CROWD]
    edges = [{"src": a, "dst": "hub", "kind": "follow"} for a in CREW]
    edges += [{"src": a, "dst": "violator", "kind": "follow"} for a in CROWD]
    edges += [{"src": a, "dst": f"celebrity{i % 4}", "kind": "follow"} for i, a in enumerate(CROWD)]
    posts = [
        {
            "post_id": "directive",
            "author_id": "hub",
            "created_at": T0 + 5 * DAY,
            "mentions": ["victim"],
        },
        {"post_id": "bad", "author_id": "violator", "created_at": T0 + 9 * DAY},
    ]
    reports = []
    for i, a in enumerate(CREW):  # an earlier strike on another victim, then the victim
        reports.append(
            _report(f"old{i}", a, "earlier-victim", T0 + 1 * DAY + 60 * i, "hate", VARIANTS[i % 4])
        )
        reports.append(
            _report(
                f"dir{i}", a, "victim", T0 + 5 * DAY + 600 + 90 * i, "terrorism", VARIANTS[i % 4]
            )
        )
    reasons = ["violence", "spam", "hate", "violence", "sexual", "other"]
    for i, a in enumerate(CROWD):
        reports.append(
            _report(
                f"org{i}", a, "violator", T0 + 9 * DAY + 1800 + 600 * i, reasons[i % 6], FREE[i]
            )
        )
    return {"accounts": accounts, "edges": edges, "posts": posts, "reports": reports}


def _report(event: str, who: str, target: str, at: int, reason: str, text: str) -> dict[str, Any]:
    return {
        "event_id": event,
        "reporter_id": who,
        "target_id": target,
        "reason": reason,
        "created_at": at,
        "text": text,
    }


def test_directed_and_organic_waves_differ_on_every_signal() -> None:
    data = build_data(**world())
    waves = find_waves(data.reports, len(data.accounts), data.now)
    signals = compute_signals(data, waves, np.full(len(data.accounts), -1), LocalEngine())
    by_target = {data.accounts.ids[t]: i for i, t in enumerate(waves.target.tolist())}
    assert set(by_target) == {"victim", "violator", "earlier-victim"}
    directed, organic = by_target["victim"], by_target["violator"]

    def value(name: str, wave: int) -> float:
        return float(signals.column(name)[wave])

    assert value("directed_share", directed) == 1.0 and value("directed_share", organic) == 0.0
    assert value("exposure_share", directed) == 0.0 and value("exposure_share", organic) == 1.0
    assert value("common_upstream_share", directed) == 1.0
    assert value("common_upstream_share", organic) == pytest.approx(3 / 12)
    assert (
        value("new_account_share", directed) == 1.0 and value("new_account_share", organic) == 0.0
    )
    assert value("reason_concentration", directed) == 1.0
    assert value("reason_concentration", organic) == pytest.approx(4 / 12)  # violence twice in six
    assert value("duplicate_text_share", directed) == 1.0
    assert value("duplicate_text_share", organic) < 0.2
    # All twelve struck the earlier victim too; chance would put 12 of 24 reporters there.
    assert value("repeat_overlap", directed) == pytest.approx(1 - 12 / 24)
    assert value("repeat_overlap", organic) == 0.0
    assert value("peak_hour_share", directed) == 1.0
    assert value("peak_hour_share", organic) == pytest.approx(
        6 / 12
    )  # one report every ten minutes
    assert value("unfounded_rate", directed) == 0.5  # no decisions: the prior


def test_unfounded_reports_on_other_targets_raise_the_rate() -> None:
    entities = world()
    decisions = [
        {
            "decision_id": "d1",
            "target_id": "earlier-victim",
            "outcome": "no_violation",
            "decided_at": T0 + 3 * DAY,
        }
    ]
    data = build_data(**entities, decisions=decisions)
    waves = find_waves(data.reports, len(data.accounts), data.now)
    signals = compute_signals(data, waves, np.full(len(data.accounts), -1), LocalEngine())
    directed = int(list(waves.target).index(data.accounts.ids.index("victim")))
    earlier = int(list(waves.target).index(data.accounts.ids.index("earlier-victim")))
    # Each crew member has one unfounded report elsewhere: (1 + 1) / (1 + 2).
    assert signals.column("unfounded_rate")[directed] == pytest.approx(2 / 3)
    # The earlier wave's own verdict is left out of its own rate.
    assert signals.column("unfounded_rate")[earlier] == pytest.approx(0.5)
