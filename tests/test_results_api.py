"""Analysis runs and result endpoints over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import math
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.engine import Database
from app.detection import DetectionParams, load_models
from app.services.analysis import AnalysisRunner, queue_run
from app.tools.simulate import SCENARIOS, generate
from tests.conftest import ADMIN_KEY, LiveServer, send, wait_for_run

WORLD = generate(SCENARIOS["baseline"], seed=601, scale=0.3)


@pytest.fixture
def analysed(client: httpx.Client, db: Database) -> Iterator[httpx.Client]:
    for kind in ("accounts", "edges", "posts", "reports", "decisions"):
        send(client, kind, getattr(WORLD, kind))
    started = client.post("/v1/analysis/runs")
    assert started.status_code == 202 and started.json()["status"] == "queued"
    run = wait_for_run(client, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    assert run["stats"]["reports"] == len(WORLD.reports)
    yield client


def test_nothing_before_the_first_run(client: httpx.Client) -> None:
    # Every page names the accounts it mentions (none here).
    assert client.get("/v1/waves").json() == {"items": [], "next_cursor": None, "accounts": {}}
    assert client.get("/v1/analysis/runs/latest").status_code == 404
    assert client.get("/v1/analysis/runs/no-such-run").status_code == 404
    check = client.post("/v1/enforcement/check", json={"target_id": "anyone"}).json()
    assert check["action"] == "proceed" and check["target_risk"] == 0.0
    assert client.get("/v1/accounts/never-seen/risk").status_code == 404
    empty = client.get("/v1/network/tiers").json()
    assert empty["hubs"] == [] and empty["tiers"]["3"] == {
        "label": "supporter",
        "count": 0,
        "sample": [],
    }


def test_a_run_records_how_it_was_made(analysed: httpx.Client) -> None:
    run = analysed.get("/v1/analysis/runs/latest").json()
    assert run["params"] == json.loads(
        json.dumps(DetectionParams().record(load_models()))
    )  # tuples as lists, as JSON has them
    assert set(run["params"]["models"]) == {"wave", "reporter", "core", "tier"}
    assert run["params"]["settings"]["partners"]["window_s"] == 600.0


def test_network_tiers_and_hubs(analysed: httpx.Client) -> None:
    network = analysed.get("/v1/network/tiers")
    assert network.status_code == 200
    body = network.json()
    tiers = body["tiers"]
    truth = WORLD.truth["tiers"]
    for tier in ("1", "2"):
        listed = tiers[tier]["accounts"]
        assert tiers[tier]["count"] == len(listed) > 0
        assert sum(truth.get(a) == int(tier) for a in listed) >= 0.9 * len(listed)
    supporters = sum(t == 3 for t in truth.values())
    assert tiers["3"]["count"] >= 0.9 * supporters
    assert all(truth.get(a) == 3 for a in tiers["3"]["sample"])
    hubs = {h["account_id"]: h for h in body["hubs"]}
    assert set(hubs) == set(tiers["2"]["accounts"])
    true_hubs = {h["account_id"]: set(h["members"]) for h in WORLD.truth["hubs"]}
    gathered = sum(len(set(h["members"]) & true_hubs.get(a, set())) for a, h in hubs.items())
    assert gathered >= 0.9 * sum(h["member_count"] for h in hubs.values())
    assert body["updated_at"].endswith("Z")
    hub = next(iter(hubs))
    risk = analysed.get(f"/v1/accounts/{hub}/risk").json()
    assert risk["tier"] == 2 and risk["tier_label"] == "supporting_institution"
    assert 0 < risk["tier_confidence"] <= 1
    assert any(e.startswith("hub of") for e in risk["explanations"])
    groups = analysed.get("/v1/groups", params={"limit": 5}).json()["items"]
    assert groups and all(set(g["tier_counts"]) <= {"1", "2", "3"} for g in groups)
    # Officials reported organically for what they post are not listed as targets.
    leaders = tiers["1"]["accounts"] + tiers["2"]["accounts"]
    risks = analysed.post("/v1/accounts/risk", json={"account_ids": leaders}).json()["items"]
    reported = {r["account_id"] for r in risks if 0 < r["target_risk"] < 0.5}
    assert reported, "this world's officials are reported organically"
    listed = analysed.get("/v1/targets", params={"limit": 1000}).json()["items"]
    assert listed and not reported & {t["account_id"] for t in listed}
    assert all(t["tier"] not in (1, 2) or t["target_risk"] >= 0.5 for t in listed)
    first = listed[0]["explanations"]
    assert any(e.startswith("struck by ") for e in first), first


def test_waves_pages_filters_and_detail(analysed: httpx.Client) -> None:
    client = analysed
    every = client.get("/v1/waves", params={"limit": 1000}).json()["items"]
    assert every and all("reporters" not in w for w in every)
    seen, cursor = [], None
    while True:
        page = client.get(
            "/v1/waves", params={"limit": 7, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [w["wave_id"] for w in seen] == [w["wave_id"] for w in every]
    assert [w["start"] for w in every] == sorted((w["start"] for w in every), reverse=True)
    flagged = client.get("/v1/waves", params={"label": "orchestrated", "limit": 1000}).json()[
        "items"
    ]
    assert flagged and all(w["score"] >= 0.5 for w in flagged)
    assert all(
        w["score"] >= 0.9
        for w in client.get("/v1/waves", params={"min_score": 0.9}).json()["items"]
    )
    target = flagged[0]["target_id"]
    assert {
        w["target_id"]
        for w in client.get("/v1/waves", params={"target_id": target}).json()["items"]
    } == {target}
    detail = client.get(f"/v1/waves/{flagged[0]['wave_id']}").json()
    assert len(detail["reporters"]) == detail["reporter_count"]
    assert client.get("/v1/waves/wave_nope").status_code == 404
    assert client.get("/v1/waves", params={"cursor": "garbage!"}).status_code == 400
    # Well-formed, but not a position this service gives out: still a 400, not a 500.
    forged = base64.urlsafe_b64encode(b'["yesterday", "w1"]').decode()
    for path in ("/v1/waves", "/v1/groups", "/v1/targets"):
        assert client.get(path, params={"cursor": forged}).status_code == 400


def test_answers_name_the_accounts_they_mention(analysed: httpx.Client) -> None:
    records = {a["account_id"]: a for a in WORLD.accounts}
    page = analysed.get("/v1/waves", params={"label": "orchestrated", "limit": 20}).json()
    for wave in page["items"]:
        for account_id in [wave["target_id"], *(o["account_id"] for o in wave["orchestrators"])]:
            name = page["accounts"][account_id]
            assert name["handle"] == records[account_id]["handle"]
            assert name["display_name"] == records[account_id].get("display_name")
    detail = analysed.get(f"/v1/waves/{page['items'][0]['wave_id']}").json()
    assert {r["account_id"] for r in detail["reporters"]} <= set(detail["accounts"])
    targets = analysed.get("/v1/targets", params={"limit": 5}).json()
    assert {t["account_id"] for t in targets["items"]} <= set(targets["accounts"])
    network = analysed.get("/v1/network/tiers").json()
    assert set(network["tiers"]["1"]["accounts"]) <= set(network["accounts"])
    group = analysed.get("/v1/groups", params={"limit": 1}).json()
    assert set(group["items"][0]["members"]) <= set(group["accounts"])


def test_orchestrators_are_first_class(analysed: httpx.Client) -> None:
    """The account that named a target just before its waves: its directive post on the
    wave, its waves and its orchestrator risk on its own document, a filter for them."""
    flagged = analysed.get("/v1/waves", params={"label": "orchestrated", "limit": 1000}).json()
    directed = [
        (wave, o) for wave in flagged["items"] for o in wave["orchestrators"][:1] if o["directive"]
    ]
    assert directed
    wave, leader = directed[0]
    posts = {p["post_id"]: p for p in WORLD.posts}
    detail = analysed.get(f"/v1/waves/{wave['wave_id']}").json()
    directive = detail["orchestrators"][0]["directive"]
    assert directive["text"] == posts[directive["post_id"]]["text"]
    assert posts[directive["post_id"]]["author_id"] == leader["account_id"]
    assert directive["created_at"] <= wave["end"]
    risk = analysed.get(f"/v1/accounts/{leader['account_id']}/risk").json()
    assert risk["orchestrator_risk"] >= 0.5
    assert any(e.startswith("named the target just before") for e in risk["explanations"])
    led = {d["wave_id"] for d in risk["waves_directed"]}
    assert wave["wave_id"] in led
    listed = analysed.get(
        "/v1/waves", params={"orchestrator_id": leader["account_id"], "limit": 1000}
    ).json()["items"]
    assert {w["wave_id"] for w in listed} == led
    truth_leaders = {o for w in WORLD.truth["waves"] for o in w.get("orchestrators", [])}
    assert leader["account_id"] in truth_leaders
    # An ordinary reporter directs nothing.
    reporter = detail["reporters"][0]["account_id"]
    plain = analysed.get(f"/v1/accounts/{reporter}/risk").json()
    assert plain["orchestrator_risk"] == 0 and plain["waves_directed"] == []
    assert analysed.get("/v1/waves", params={"orchestrator_id": reporter}).json()["items"] == []
    assert detail["sample_texts"] and len(detail["sample_texts"]) <= 5
    said = {r.get("text", "").strip() for r in WORLD.reports if r["target_id"] == wave["target_id"]}
    assert set(detail["sample_texts"]) <= said


def test_accounts_are_found_by_id_handle_or_name(analysed: httpx.Client) -> None:
    named = {"account_id": "acct_search_1", "handle": "Mosul_Watch_77"}
    named["display_name"] = "مرصد الموصل Mosul Watch"
    sent = analysed.post("/v1/accounts", json={"accounts": [named]})
    assert sent.status_code == 200 and sent.json()["accepted"] == 1
    by_id = analysed.get("/v1/accounts", params={"q": named["account_id"]}).json()["items"]
    assert by_id[0] == {
        "account_id": named["account_id"],
        "handle": named["handle"],
        "display_name": named["display_name"],
    }
    by_handle = analysed.get("/v1/accounts", params={"q": "@MOSUL_watch", "limit": 100}).json()[
        "items"
    ]
    assert [m["account_id"] for m in by_handle] == [named["account_id"]]
    part = "الموصل"
    by_name = analysed.get("/v1/accounts", params={"q": part, "limit": 100}).json()["items"]
    assert [m["account_id"] for m in by_name] == [named["account_id"]]
    world = analysed.get("/v1/accounts", params={"q": WORLD.accounts[0]["handle"][:3]}).json()
    assert world["items"] and all(
        m["handle"].lower().startswith(WORLD.accounts[0]["handle"][:3].lower())
        for m in world["items"]
    )
    # LIKE wildcards are searched for, not obeyed.
    assert analysed.get("/v1/accounts", params={"q": "%"}).json()["items"] == []
    assert analysed.get("/v1/accounts", params={"q": ""}).status_code == 422


def test_metrics_report_analysis_runs_and_webhook_deliveries(analysed: httpx.Client) -> None:
    run = analysed.get("/v1/analysis/runs/latest").json()
    body = analysed.get("/metrics").text
    figures = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in body.splitlines()
        if line.startswith("mrd_") and " " in line
    }
    assert figures['mrd_analysis_runs{status="succeeded"}'] >= 1
    assert figures["mrd_analysis_last_run_waves"] == run["stats"]["waves"]
    assert figures["mrd_analysis_last_run_orchestrated_waves"] == run["stats"]["orchestrated_waves"]
    assert figures["mrd_analysis_last_run_duration_seconds"] == run["stats"]["seconds"]["total"]
    assert figures['mrd_webhook_deliveries{status="dead"}'] == 0


def test_signals_are_defined_with_their_organic_reference_in_their_own_units(
    client: httpx.Client,
) -> None:
    from app.detection.scores import load_models

    model = load_models().wave
    centre = dict(zip(model.features, model.centre, strict=True))
    catalogue = {s["name"]: s for s in client.get("/v1/signals").json()["items"]}
    assert set(catalogue) == set(model.features)
    assert all(len(s["definition"]) > 20 for s in catalogue.values())
    # The model reads ages and durations as log(1 + value); people read days and hours.
    age = catalogue["median_account_age_days"]["organic_median"]
    assert age == pytest.approx(math.expm1(centre["median_account_age_days"]), rel=1e-3)
    assert age > 30
    assert catalogue["peak_hour_share"]["organic_median"] == pytest.approx(
        centre["peak_hour_share"], abs=1e-4
    )
    assert client.get("/v1/accounts", params={"q": "   "}).json()["items"] == []


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Times with offsets, the calendar's ends included (9999-12-31 at -05:00 is past UTC's).
TIMES = st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
CURSORS = st.one_of(
    st.tuples(TIMES, st.text(max_size=20)).map(lambda pair: _b64(json.dumps(list(pair)).encode())),
    st.text(max_size=80),
    st.binary(max_size=96).map(_b64),
    JSON_VALUES.map(lambda v: _b64(json.dumps(v).encode())),
    st.tuples(JSON_SCALARS, JSON_SCALARS).map(lambda pair: _b64(json.dumps(list(pair)).encode())),
)


def test_every_malformed_cursor_is_a_400(analysed: httpx.Client) -> None:
    """Forged cursors (any bytes, any JSON, positions of the wrong kind: a number where
    a time goes, a naive time, an integer past 64 bits) are 400 problem+json, never 500."""
    naive = _b64(b'["2017-07-29T10:00:00", "w"]')
    huge = _b64(b'[9223372036854775808, "g"]')
    # A group size past the 32-bit column (PostgreSQL refused it with a 500).
    past_the_column = _b64(b'[2407403408, ""]')
    past_the_end = _b64(b'["9999-12-31T23:00:00-05:00", "w"]')
    for path, cursor in (
        ("/v1/waves", naive),
        ("/v1/waves", past_the_end),
        ("/v1/groups", huge),
        ("/v1/groups", past_the_column),
        ("/v1/targets", naive),
    ):
        assert analysed.get(path, params={"cursor": cursor}).status_code == 400

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cursor=CURSORS, path=st.sampled_from(["/v1/waves", "/v1/groups", "/v1/targets"]))
    def forged(cursor: str, path: str) -> None:
        answer = analysed.get(path, params={"cursor": cursor})
        assert answer.status_code in (200, 400, 422), (cursor, answer.text)
        if answer.status_code != 200:
            assert answer.headers["content-type"] == "application/problem+json"

    forged()


def test_groups_accounts_targets_and_enforcement(analysed: httpx.Client) -> None:
    client = analysed
    groups = client.get("/v1/groups").json()["items"]
    assert groups
    group = client.get(f"/v1/groups/{groups[0]['group_id']}").json()
    member = group["members"][0]
    assert group["group_id"] in client.get(f"/v1/accounts/{member}/risk").json()["group_ids"]
    supporter = WORLD.truth["orchestrated_reporters"][0]
    assert client.get(f"/v1/accounts/{supporter}/risk").json()["reporter_risk"] > 0.5
    batch = client.post(
        "/v1/accounts/risk", json={"account_ids": [member, "unknown-account"]}
    ).json()["items"]
    assert [i["account_id"] for i in batch] == [member, "unknown-account"]
    assert batch[1]["tier"] is None and batch[1]["reporter_risk"] == 0.0
    # The batch sends the stored documents as they are: the same documents and names
    # as the one-account answers, which are built and checked as models.
    leaders = analysed.get("/v1/network/tiers").json()["tiers"]["2"]["accounts"][:3]
    ids = [member, supporter, *leaders, *(w["target_id"] for w in WORLD.truth["waves"][:3])]
    answer = client.post("/v1/accounts/risk", json={"account_ids": ids}).json()
    singles = [client.get(f"/v1/accounts/{a}/risk").json() for a in ids]
    assert answer["items"] == [{k: v for k, v in s.items() if k != "accounts"} for s in singles]
    assert answer["accounts"] == {a: n for s in singles for a, n in sorted(s["accounts"].items())}
    assert any(i.get("waves_directed") for i in answer["items"]) or any(
        i.get("recreated_from") for i in answer["items"]
    )
    targets = client.get("/v1/targets", params={"limit": 5}).json()["items"]
    assert [t["target_risk"] for t in targets] == sorted(
        (t["target_risk"] for t in targets), reverse=True
    )
    victim = targets[0]["account_id"]
    hold = client.post("/v1/enforcement/check", json={"target_id": victim}).json()
    assert hold["action"] == "hold_for_review" and hold["wave_id"] and hold["reasons"]
    violators = set(WORLD.truth["violators"])
    organic_targets = {
        w["target_id"] for w in WORLD.truth["waves"] if not w["orchestrated"]
    } & violators
    victims = {w["target_id"] for w in WORLD.truth["waves"] if w["orchestrated"]}
    some_violator = sorted(organic_targets - victims)[0]
    assert (
        client.post("/v1/enforcement/check", json={"target_id": some_violator}).json()["action"]
        == "proceed"
    )


def test_enforcement_about_one_content_item(analysed: httpx.Client) -> None:
    client = analysed
    truth = WORLD.truth
    victims = {w["target_id"] for w in truth["waves"] if w["orchestrated"]}
    violators = {w["target_id"] for w in truth["waves"] if not w["orchestrated"]}
    cited = Counter((r["target_id"], r["content_id"]) for r in WORLD.reports if r.get("content_id"))

    def most_cited(accounts: set[str]) -> tuple[str, str]:
        return next(pair for pair, _ in cited.most_common() if pair[0] in accounts)

    def check(target_id: str, content_id: str) -> dict[str, Any]:
        body = {"target_id": target_id, "content_id": content_id}
        answer = client.post("/v1/enforcement/check", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    victim, post = most_cited(victims - violators)
    held = check(victim, post)
    assert held["action"] == "hold_for_review" and held["content_risk"] >= 0.5
    assert client.get(f"/v1/waves/{held['wave_id']}").json()["content_id"] == post
    violator, violating_post = most_cited(violators - victims)
    cleared = check(violator, violating_post)
    assert cleared["action"] == "proceed" and cleared["content_risk"] < 0.5
    unknown = check(victim, "never-reported-post")
    assert unknown["content_risk"] is None and unknown["action"] == "hold_for_review"
    assert any("judged on the account" in reason for reason in unknown["reasons"])


def test_stateless_analyze_matches_stored_entities(client: httpx.Client, db: Database) -> None:
    body = {
        kind: getattr(WORLD, kind)
        for kind in ("accounts", "edges", "posts", "reports", "decisions")
    }
    answer = client.post("/v1/analyze", json=body)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert any(w["label"] == "orchestrated" for w in document["waves"])
    assert document["network"]["tiers"]["2"]["count"] > 0 and document["network"]["hubs"]
    assert client.get("/v1/waves").json()["items"] == []  # nothing stored
    bad = client.post("/v1/analyze", json={"reports": [{"event_id": "x"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][:3] == ["body", "reports", 0]


def test_exactly_one_runner_at_a_time(service: LiveServer, db: Database) -> None:
    """Two runners (as two processes would have) race for three queued runs: each run is
    done exactly once, and never two at the same time."""
    runners = [AnalysisRunner(db, 3600.0), AnalysisRunner(db, 3600.0)]
    running = 0
    overlap = []
    lock = threading.Lock()
    original = AnalysisRunner._run

    def watched(self: AnalysisRunner, run_id: str, full_read: bool = False) -> None:
        nonlocal running
        with lock:
            running += 1
            overlap.append(running)
        try:
            original(self, run_id, full_read)
        finally:
            with lock:
                running -= 1

    # Watched before anything is queued: the service's own runner may take a run at once.
    AnalysisRunner._run = watched  # type: ignore[method-assign]
    try:
        queued = [queue_run(db).run_id for _ in range(3)]
        threads = [
            threading.Thread(target=lambda r=r: [r.run_pending() for _ in range(4)])
            for r in runners
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The service's own runner (same process, same class) may take some of them.
        with httpx.Client(base_url=service.url, headers={"X-API-Key": ADMIN_KEY}) as http:
            statuses = [wait_for_run(http, run_id)["status"] for run_id in queued]
    finally:
        AnalysisRunner._run = original  # type: ignore[method-assign]
    assert statuses == ["succeeded"] * 3
    assert max(overlap) == 1
    assert len(overlap) == 3
