"""Admission control: past its slots a worker holds requests in line for a bounded
time, enforcement checks first, and answers the rest 503 with Retry-After at once;
probes are never held, and /metrics counts what was shed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from app.api.admission import ENFORCEMENT_SLOTS_PER_SLOT, Admission, Gate, Lane, lane_of
from app.config import Settings
from app.db.migrations import upgrade_to_head
from app.main import create_app
from tests.conftest import LiveServer


async def _admitted(gate: Gate, lane: Lane) -> str | None:
    return await gate.enter(lane)


def test_requests_past_the_slots_wait_and_are_admitted_as_slots_free() -> None:
    async def scenario() -> None:
        gate = Gate(capacity=2, queue_timeout_s=5.0, max_waiting=10)
        assert await gate.enter(Lane.OTHER) is None
        assert await gate.enter(Lane.OTHER) is None
        third = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        assert not third.done() and gate.waiting() == 1
        gate.leave()
        assert await third is None
        assert gate.in_flight == 2 and gate.waiting() == 0

    asyncio.run(scenario())


def test_a_line_is_served_newest_first() -> None:
    async def scenario() -> None:
        gate = Gate(capacity=1, queue_timeout_s=5.0, max_waiting=10)
        assert await gate.enter(Lane.OTHER) is None
        older = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        newer = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        gate.leave()
        assert await newer is None
        await asyncio.sleep(0.01)
        assert not older.done()
        gate.leave()
        assert await older is None

    asyncio.run(scenario())


def test_a_full_line_is_refused_at_once_and_a_long_wait_runs_out() -> None:
    async def scenario() -> None:
        gate = Gate(capacity=1, queue_timeout_s=0.05, max_waiting=1)
        assert await gate.enter(Lane.OTHER) is None
        waiting = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        assert await gate.enter(Lane.OTHER) == "queue_full"
        assert await waiting == "queue_timeout"
        # Nothing of the refused is left behind: the line is empty, one slot taken.
        assert gate.waiting() == 0 and gate.in_flight == 1
        gate.leave()
        assert gate.in_flight == 0

    asyncio.run(scenario())


def test_a_wait_that_runs_out_after_its_turn_left_the_line_is_refused_cleanly() -> None:
    """Under load a slot can free between a wait running out and the waiter noticing;
    the freed slot drops the cancelled turn from the line, and the waiter must still
    be answered 503, not fail."""

    async def scenario() -> None:
        gate = Gate(capacity=1, queue_timeout_s=0.05, max_waiting=10)
        assert await gate.enter(Lane.OTHER) is None
        waiting = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        gate.lines[Lane.OTHER].clear()  # as leave() does with a cancelled turn
        assert await waiting == "queue_timeout"
        assert gate.in_flight == 1

    asyncio.run(scenario())


def test_enforcement_checks_have_slots_of_their_own_and_go_first() -> None:
    async def scenario() -> None:
        gate = Gate(capacity=1, queue_timeout_s=5.0, max_waiting=10)
        assert await gate.enter(Lane.OTHER) is None
        # The worker is full for listings, not for checks, which have slots of their own.
        for _ in range(ENFORCEMENT_SLOTS_PER_SLOT):
            assert await gate.enter(Lane.ENFORCEMENT) is None
        listing = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        check = asyncio.create_task(_admitted(gate, Lane.ENFORCEMENT))
        await asyncio.sleep(0.01)
        assert not listing.done() and not check.done()
        gate.leave()  # one slot frees: the check, which came later, goes first
        assert await check is None
        await asyncio.sleep(0.01)
        assert not listing.done()
        for _ in range(ENFORCEMENT_SLOTS_PER_SLOT + 1):
            gate.leave()
        assert await listing is None
        assert gate.in_flight == 1

    asyncio.run(scenario())


def test_a_client_that_leaves_the_line_gives_back_nothing_it_did_not_take() -> None:
    async def scenario() -> None:
        gate = Gate(capacity=1, queue_timeout_s=5.0, max_waiting=10)
        assert await gate.enter(Lane.OTHER) is None
        gone = asyncio.create_task(_admitted(gate, Lane.OTHER))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(gone, return_exceptions=True)
        assert gate.waiting() == 0 and gate.in_flight == 1
        gate.leave()
        assert gate.in_flight == 0

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
        gate = _gate_of(app)
        # The slot of the request just answered is given back after its last byte went.
        deadline = time.monotonic() + 5
        while gate.in_flight and time.monotonic() < deadline:
            time.sleep(0.001)
        gate.in_flight = (1 + ENFORCEMENT_SLOTS_PER_SLOT) * gate.capacity  # every slot taken
        try:
            refused = client.get("/v1/waves")
            check = client.post("/v1/enforcement/check", json={"target_id": "someone"})
            health = client.get("/healthz")
            metrics = client.get("/metrics").text
        finally:
            gate.in_flight = 0
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
