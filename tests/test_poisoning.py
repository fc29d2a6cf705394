"""Poisoning the enforcement check: reports that are not themselves evidence of
coordination never turn a brigaded victim's hold into proceed, however many, from
whatever accounts, for whatever reasons, at whatever times."""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.engine import Database
from app.detection.data import build_data, to_epoch
from app.detection.documents import AccountRisk
from app.detection.pipeline import Analysis, analyze, crowd_score
from app.detection.scores import FLAG, campaign_share, load_models
from app.detection.shapes import CORE_BURST
from app.services.live import PROVISIONAL, _merged_account
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.text import REASONS
from tests.conftest import send, wait_for_run

WORLD = generate(SCENARIOS["baseline"], seed=611, scale=0.3)
PERIOD_START = to_epoch(WORLD.truth["period"]["start"])
PERIOD_END = to_epoch(WORLD.truth["period"]["end"])
DAY = 86_400.0
SUPPORTERS = set(WORLD.truth["orchestrated_reporters"])
ESTABLISHED = sorted(
    a["account_id"]
    for a in WORLD.accounts
    if a["account_id"] not in SUPPORTERS and a["created_at"] < "2015-01-01"
)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(
    extra_accounts: list[dict[str, Any]],
    extra_reports: list[dict[str, Any]],
    extra_edges: list[dict[str, Any]] | None = None,
) -> Analysis:
    return analyze(
        build_data(
            WORLD.accounts + extra_accounts,
            WORLD.edges + (extra_edges or []),
            WORLD.posts,
            WORLD.reports + extra_reports,
            WORLD.decisions,
        )
    )


def risk_of(analysis: Analysis, account_id: str) -> float:
    return float(analysis.target_risk[analysis.data.accounts.ids.index(account_id)])


BEFORE = run([], [])
VICTIMS = sorted({w["target_id"] for w in WORLD.truth["waves"] if w["orchestrated"]})
HELD = [v for v in VICTIMS if risk_of(BEFORE, v) >= FLAG]


def last_campaign_end(victim: str) -> float:
    return max(
        to_epoch(w["end"])
        for w in WORLD.truth["waves"]
        if w["orchestrated"] and w["target_id"] == victim
    )


def drip(victim: str, count: int = 400, gap_s: float = 150.0) -> list[dict[str, Any]]:
    """The attack of issue 17: established accounts, one report every ``gap_s`` from ten
    minutes after the brigade's last wave, random reasons."""
    rng = random.Random(victim)
    start = last_campaign_end(victim) + 600
    return [
        {
            "event_id": f"drip-{victim}-{i}",
            "reporter_id": rng.choice(ESTABLISHED),
            "target_id": victim,
            "reason": rng.choice(REASONS),
            "created_at": iso(start + i * gap_s),
        }
        for i in range(count)
    ]


def test_the_world_has_held_victims() -> None:
    assert len(HELD) == len(VICTIMS) >= 10


def test_four_hundred_ordinary_reports_do_not_release_a_hold() -> None:
    reports = [r for victim in HELD for r in drip(victim)]
    after = run([], reports)
    released = [v for v in HELD if risk_of(after, v) < FLAG]
    assert released == []
    # On every held victim the added reports outnumber all those filed before.
    before = Counter(r["target_id"] for r in WORLD.reports)
    assert all(before[v] < len(drip(v)) for v in HELD)


def test_four_hundred_reports_from_the_victims_audience_do_not_release_a_hold() -> None:
    """The stronger attack: the accounts follow each victim first, so their reports look
    like its own audience's and their crowd like an organic pile-on. Joining the
    brigade's waves on the other victims must not make them core members either."""
    reports = [r for victim in HELD for r in drip(victim)]
    follows = [
        {
            "src": r["reporter_id"],
            "dst": r["target_id"],
            "kind": "follow",
            "created_at": iso(to_epoch(r["created_at"]) - DAY),
        }
        for r in reports
    ]
    after = run([], reports, follows)
    released = [v for v in HELD if risk_of(after, v) < FLAG]
    assert released == []
    # The attack bites where it can: judged by the wave model alone, without their
    # coordinated core, the victims' waves would no longer hold half of them.
    alone = crowd_score(load_models().wave, after.signals, after.data.reports.reporter, after.waves)
    share = campaign_share(after.data, after.waves, alone)
    index = {a: i for i, a in enumerate(after.data.accounts.ids)}
    assert sum(share[index[v]] < FLAG for v in HELD) >= len(HELD) // 2


batch = st.tuples(
    # When the first one comes: anywhere in the period (or a little outside it), or
    # around the brigade's last wave, where added reports merge with it.
    st.one_of(
        st.floats(min_value=-0.1, max_value=1.1).map(
            lambda f: PERIOD_START + f * (PERIOD_END - PERIOD_START)
        ),
        st.floats(min_value=-2 * DAY, max_value=2 * DAY).map(lambda s: ("campaign", s)),
    ),
    # Seconds between reports, from a flood to a trickle (log-uniform).
    st.floats(min_value=0.0, max_value=math.log(6 * 3600.0)).map(math.exp),
    st.integers(min_value=1, max_value=400),  # how many
    st.sampled_from(["new", "aged", "established"]),  # who files them
    st.lists(st.sampled_from(REASONS), min_size=1, max_size=3),  # with which reasons
)


Batch = tuple[float | tuple[str, float], float, int, str, list[str]]


def added(victim: str, batches: list[Batch]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The accounts and reports of ``batches`` (see ``batch``) against ``victim``."""
    accounts: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    rng = random.Random(len(batches))
    for b, (when, gap_s, count, who, reasons) in enumerate(batches):
        start = when if isinstance(when, float) else last_campaign_end(victim) + when[1]
        for i in range(count):
            at = start + i * gap_s
            if who == "established":
                reporter = rng.choice(ESTABLISHED)
            else:
                reporter = f"added-{b}-{i}"
                age = timedelta(
                    days=rng.uniform(0.1, 20) if who == "new" else rng.uniform(400, 3000)
                )
                accounts.append(
                    {"account_id": reporter, "created_at": iso(at - age.total_seconds())}
                )
            reports.append(
                {
                    "event_id": f"added-{b}-{i}",
                    "reporter_id": reporter,
                    "target_id": victim,
                    "reason": rng.choice(reasons),
                    "created_at": iso(at),
                }
            )
    return accounts, reports


@given(victim=st.sampled_from(HELD), batches=st.lists(batch, min_size=1, max_size=3))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_added_uncoordinated_reports_never_turn_hold_into_proceed(
    victim: str, batches: list[Batch]
) -> None:
    assert risk_of(run(*added(victim, batches)), victim) >= FLAG


def test_a_month_of_later_reports_does_not_release_a_hold() -> None:
    """Found by the property test above: reports from the end of the period on, for
    more than a month, from new accounts and from established ones (some of which had
    joined orchestrated waves elsewhere, so their reports form weak core waves). The
    victim's latest waves are then theirs, a month after the brigade's; the core
    evidence must not count back from those alone."""
    victim = "1059220137"
    late = [
        (PERIOD_END, 8103.08, 316, "new", ["spam"]),
        (PERIOD_END, 4914.77, 160, "established", ["spam"]),
    ]
    after = run(*added(victim, late))
    assert victim in HELD and risk_of(after, victim) >= FLAG


def check(client: httpx.Client, target_id: str) -> dict[str, Any]:
    answer = client.post("/v1/enforcement/check", json={"target_id": target_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def run_analysis(client: httpx.Client) -> None:
    run = wait_for_run(client, client.post("/v1/analysis/runs").json()["run_id"])
    assert run["status"] == "succeeded", run


def test_the_dilution_attack_through_the_service_keeps_every_hold(
    client: httpx.Client, db: Database
) -> None:
    """Issue 17's attack over HTTP on each database: held victims, then 400 ordinary
    reports each. The fast path's provisional answers and the next full run still hold,
    and say why: the brigade's own accounts struck in a burst."""
    for kind in ("accounts", "edges", "posts", "reports", "decisions"):
        send(client, kind, getattr(WORLD, kind))
    run_analysis(client)
    victims = HELD[:4]
    assert all(check(client, v)["action"] == "hold_for_review" for v in victims)

    first_run = client.get("/v1/analysis/runs/latest").json()["run_id"]
    send(client, "reports", [r for victim in victims for r in drip(victim)])
    # Every answer holds, while the fast path takes the reports in (or a full run the
    # scheduler queued for them lands first).
    deadline = time.monotonic() + 30
    seen: set[str] = set()
    while seen != set(victims) and time.monotonic() < deadline:
        newer = client.get("/v1/analysis/runs/latest").json()["run_id"] != first_run
        for victim in victims:
            assert check(client, victim)["action"] == "hold_for_review"
            explanations = client.get(f"/v1/accounts/{victim}/risk").json()["explanations"]
            if newer or PROVISIONAL in explanations:
                seen.add(victim)
        time.sleep(0.1)
    assert seen == set(victims), "neither the fast path nor a run took the reports in"

    run_analysis(client)
    for victim in victims:
        answer = check(client, victim)
        assert answer["action"] == "hold_for_review", answer
        assert any(reason.startswith(CORE_BURST) for reason in answer["reasons"]), answer


def test_between_full_runs_the_fast_path_only_raises_risks() -> None:
    def account(**fields: Any) -> AccountRisk:
        unscored = {
            "account_id": "victim",
            "tier": None,
            "tier_label": None,
            "tier_confidence": 0.0,
            "reporter_risk": 0.0,
            "group_ids": [],
            "reliability": {"reports": 0, "upheld": 0, "unfounded": 0, "score": 0.5},
            "recreated_from": None,
            "explanations": [],
            "updated_at": None,
        }
        return AccountRisk.model_validate(unscored | fields)

    stored = account(
        target_risk=0.9,
        core_risk=0.9,
        content_risk={"post1": 0.8},
        explanations=["filed 0 reports"],
    )
    fresh = account(target_risk=0.3, core_risk=0.0, content_risk={"post1": 0.2, "post2": 0.6})
    merged = _merged_account(stored, fresh, "2017-07-29T00:00:00Z")
    assert merged.target_risk == 0.9 and merged.core_risk == 0.9
    assert merged.content_risk == {"post1": 0.8, "post2": 0.6}
    assert merged.explanations[-1] == PROVISIONAL
    assert any(line.startswith(CORE_BURST) for line in merged.explanations)
