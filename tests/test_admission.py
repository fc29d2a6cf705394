"""Admission control: past its slots a worker holds requests in line for a bounded
time, enforcement checks first, and answers the rest 503 with Retry-After at once;
probes are never held, and /metrics counts what was shed."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx

from app.api.admission import ENFORCEMENT_SLOTS_PER_SLOT, Admission, Gate, Lane, Pool, lane_of
from app.config import Settings
from app.db.migrations import upgrade_to_head
from app.main import create_app
from tests.conftest import LiveServer


def test_requests_past_the_slots_wait_and_are_admitted_as_slots_free() -> None:
    async def scenario() -> None:
        pool = Pool(slots=2, queue_timeout_s=5.0, max_waiting=10)
        assert await pool.enter() is None
        assert await pool.enter() is None
        third = asyncio.create_task(pool.enter())
        await asyncio.sleep(0.01)
        assert not third.done() and len(pool.line) == 1
        pool.leave()
        assert await third is None
        assert pool.in_flight == 2 and not pool.line

    asyncio.run(scenario())


def test_a_line_is_served_newest_first() -> None:
    async def scenario() -> None:
        pool = Pool(slots=1, queue_timeout_s=5.0, max_waiting=10)
        assert await pool.enter() is None
        older = asyncio.create_task(pool.enter())
        await asyncio.sleep(0.01)
        newer = asyncio.create_task(pool.enter())
        await asyncio.sleep(0.01)
        pool.leave()
        assert await newer is None
        await asyncio.sleep(0.01)
        assert not older.done()
        pool.leave()
        assert await older is None

    asyncio.run(scenario())


def test_a_full_line_pushes_out_its_stalest_and_a_long_wait_runs_out() -> None:
    async def scenario() -> None:
        pool = Pool(slots=1, queue_timeout_s=0.05, max_waiting=1)
        assert await pool.enter() is None
        stalest = asyncio.create_task(pool.enter())
        await asyncio.sleep(0.01)
        newcomer = asyncio.create_task(pool.enter())
        assert await stalest == "queue_full"
        assert await newcomer == "queue_timeout"
        # Nothing of the refused is left behind: the line is empty, one slot taken.
        assert not pool.line and pool.in_flight == 1
        pool.leave()
        assert pool.in_flight == 0
        assert await Pool(slots=1, queue_timeout_s=1.0, max_waiting=0).enter() is None

    asyncio.run(scenario())


def test_enforcement_checks_have_slots_that_other_requests_never_take() -> None:
    async def scenario() -> None:
        gate = Gate(capacity=1, queue_timeout_s=0.05, max_waiting=10)
        checks, others = gate.pools[Lane.ENFORCEMENT], gate.pools[Lane.OTHER]
        assert await others.enter() is None
        assert await others.enter() == "queue_timeout"  # full for listings and ingest
        for _ in range(ENFORCEMENT_SLOTS_PER_SLOT):  # not for checks
            assert await checks.enter() is None
        assert await checks.enter() == "queue_timeout"
        others.leave()
        assert await others.enter() is None  # checks in flight take nothing from others

    asyncio.run(scenario())


def test_a_client_that_leaves_the_line_gives_back_nothing_it_did_not_take() -> None:
    async def scenario() -> None:
        pool = Pool(slots=1, queue_timeout_s=5.0, max_waiting=10)
        assert await pool.enter() is None
        gone = asyncio.create_task(pool.enter())
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        assert not pool.line and pool.in_flight == 1
        pool.leave()
        assert pool.in_flight == 0

    asyncio.run(scenario())


def test_a_wait_that_runs_out_as_a_slot_frees_is_refused_cleanly() -> None:
    """The time runs out (the turn is cancelled) and, before the waiter wakes, a slot
    frees and drops the cancelled turn from the line: the waiter is still answered
    503, and the slot stays free."""

    async def scenario() -> None:
        pool = Pool(slots=1, queue_timeout_s=0.01, max_waiting=10)
        assert await pool.enter() is None
        waiting = asyncio.create_task(pool.enter())
        await asyncio.sleep(0)
        time.sleep(0.02)  # the deadline passes while the loop is busy
        while pool.line and not pool.line[0].cancelled():
            await asyncio.sleep(0)
        assert pool.line, "the waiter woke first: the race was not reproduced"
        pool.leave()
        assert await waiting == "queue_timeout"
        assert pool.in_flight == 0 and not pool.line

    asyncio.run(scenario())


def test_probes_are_never_held() -> None:
    assert lane_of("/healthz") is None and lane_of("/metrics") is None
    assert lane_of("/v1/enforcement/check") is Lane.ENFORCEMENT
    assert lane_of("/v1/waves") is Lane.OTHER and lane_of("/v1/reports") is Lane.OTHER


def _gate_of(app: object) -> Gate:
    layer = app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, Admission):
        layer = layer.app
    return layer.gate


def test_a_worker_at_capacity_answers_503_with_retry_after_and_counts_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'admission.db'}"
    upgrade_to_head(url)
    key = "admission-key-0123456789"
    app = create_app(Settings(database_url=url, bootstrap_api_key=key, max_queue=0))
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as client,
    ):
        assert client.get("/v1/waves").status_code == 200
        pools = _gate_of(app).pools.values()
        slots = [pool.slots for pool in pools]
        for pool in pools:
            pool.slots = 0  # every slot taken
        try:
            refused = client.get("/v1/waves")
            check = client.post("/v1/enforcement/check", json={"target_id": "someone"})
            health = client.get("/healthz")
            metrics = client.get("/metrics").text
        finally:
            for pool, count in zip(pools, slots, strict=True):
                pool.slots = count
        assert refused.status_code == 503 and check.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:mrd:problem:overloaded"
        assert health.status_code == 200
        assert 'mrd_http_shed_total{lane="other",reason="queue_full"}' in metrics
        assert 'mrd_http_shed_total{lane="enforcement",reason="queue_full"}' in metrics
        # Slots back: answered again.
        assert client.get("/v1/waves").status_code == 200
    app.state.context.db.dispose()


def test_clients_that_never_send_their_bodies_hold_no_slot(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stalled.db'}"
    upgrade_to_head(url)
    key = "admission-key-0123456789"
    app = create_app(
        Settings(database_url=url, bootstrap_api_key=key, max_in_flight=1, body_timeout_s=2)
    )
    stalled = []
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=10) as client,
    ):
        host, port = server.url.removeprefix("http://").split(":")
        for path in ["/v1/enforcement/check"] * 6 + ["/v1/accounts/risk"] * 2:
            sock = socket.create_connection((host, int(port)))
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json"
                "\r\nContent-Length: 1000\r\n\r\n".encode()
            )
            stalled.append(sock)
        try:
            time.sleep(0.2)
            assert client.get("/v1/waves").status_code == 200
            check = client.post("/v1/enforcement/check", json={"target_id": "someone"})
            assert check.status_code == 200
            # The body deadline still answers the stalled ones.
            stalled[0].settimeout(10)
            assert stalled[0].recv(100).startswith(b"HTTP/1.1 408")
        finally:
            for sock in stalled:
                sock.close()
    app.state.context.db.dispose()
