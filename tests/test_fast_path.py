"""The fast path over HTTP: a wave that arrives after the last full run is seen, scored
and held within seconds, and the next full run takes it over (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from app.db.engine import Database
from app.services.enforcement import CURRENT_RUN_TTL_S
from app.tools.simulate import SCENARIOS, generate
from tests.conftest import send, wait_for_run

WORLD = generate(SCENARIOS["baseline"], seed=611, scale=0.3)


def late_wave() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The newest orchestrated wave on a victim no other wave struck, and its reports."""
    waves = WORLD.truth["waves"]
    struck: dict[str, int] = {}
    for wave in waves:
        struck[wave["target_id"]] = struck.get(wave["target_id"], 0) + 1
    lone = [
        w
        for w in waves
        if w["orchestrated"]
        and struck[w["target_id"]] == 1
        and w["target_id"] not in WORLD.truth["violators"]
    ]
    wave = max(lone, key=lambda w: w["end"])
    reporters = set(wave["reporters"])
    reports = [
        r
        for r in WORLD.reports
        if r["target_id"] == wave["target_id"]
        and r["reporter_id"] in reporters
        and wave["start"] <= r["created_at"] <= wave["end"]
    ]
    return wave, reports


def analysed_without_late_wave(
    client: httpx.Client,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Store the world but the late wave's reports and analyse it; the late wave."""
    truth, held_back = late_wave()
    late = {r["event_id"] for r in held_back}
    for kind in ("accounts", "edges", "posts", "decisions"):
        send(client, kind, getattr(WORLD, kind))
    send(client, "reports", [r for r in WORLD.reports if r["event_id"] not in late])
    run_analysis(client)
    return truth, held_back


def run_analysis(client: httpx.Client) -> None:
    run = wait_for_run(client, client.post("/v1/analysis/runs").json()["run_id"])
    assert run["status"] == "succeeded", run


def check(client: httpx.Client, target_id: str) -> dict[str, Any]:
    answer = client.post("/v1/enforcement/check", json={"target_id": target_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_wave_after_the_last_run_is_held_before_the_next(
    client: httpx.Client, db: Database
) -> None:
    truth, held_back = analysed_without_late_wave(client)
    victim = truth["target_id"]
    before = check(client, victim)
    assert before["action"] == "proceed", before

    send(client, "reports", held_back)
    sent = time.monotonic()
    answer = before
    while answer["action"] != "hold_for_review" and time.monotonic() - sent < 20:
        time.sleep(0.05)
        answer = check(client, victim)
    assert answer["action"] == "hold_for_review", answer
    assert answer["target_risk"] >= 0.5

    waves = client.get("/v1/waves", params={"target_id": victim}).json()["items"]
    provisional = [w for w in waves if w["provisional"]]
    assert len(provisional) == 1
    wave = provisional[0]
    assert wave["label"] == "orchestrated" and wave["wave_id"] == answer["wave_id"]
    # Trimming may cut a straggler at either end, no more.
    assert 0.95 * len(held_back) <= wave["report_count"] <= len(held_back)
    assert truth["start"] <= wave["start"] and wave["end"] <= truth["end"]
    assert any(e.startswith("provisional") for e in wave["explanations"])
    risk = client.get(f"/v1/accounts/{victim}/risk").json()
    assert risk["target_risk"] >= 0.5
    assert any(e.startswith("provisional") for e in risk["explanations"])

    # The next full run takes the wave over (readers see a new run within a second);
    # the answer stays.
    run_analysis(client)
    time.sleep(CURRENT_RUN_TTL_S)
    waves = client.get("/v1/waves", params={"target_id": victim}).json()["items"]
    assert [w["provisional"] for w in waves] == [False] * len(waves)
    assert wave["wave_id"] in {w["wave_id"] for w in waves}
    assert check(client, victim)["action"] == "hold_for_review"


def test_a_retried_batch_changes_no_provisional_result(client: httpx.Client, db: Database) -> None:
    _, held_back = late_wave()
    late = {r["event_id"] for r in held_back}
    send(client, "reports", [r for r in WORLD.reports if r["event_id"] not in late])
    run_analysis(client)
    send(client, "reports", held_back)
    victim = held_back[0]["target_id"]
    deadline = time.monotonic() + 20
    waves: list[dict[str, Any]] = []
    while not waves and time.monotonic() < deadline:
        time.sleep(0.05)
        items = client.get("/v1/waves", params={"target_id": victim}).json()["items"]
        waves = [w for w in items if w["provisional"]]
    assert waves
    again = client.post("/v1/reports", json={"reports": held_back}).json()
    assert again["accepted"] == 0 and again["duplicates"] == len(held_back)
    time.sleep(1.0)
    items = client.get("/v1/waves", params={"target_id": victim}).json()["items"]
    assert [w for w in items if w["provisional"]] == waves
