"""Admission control: a worker past its capacity says so at once.

Each HTTP worker handles at most ``MRD_MAX_IN_FLIGHT`` requests at a time; the rest
wait in line for at most ``MRD_QUEUE_TIMEOUT_S`` and are then answered 503 with
``Retry-After``, as is anyone arriving to a full line. Past capacity an open queue
grows without bound and every request, a suspension pipeline's check among them,
waits for minutes; a quick 503 lets a client back off or try another replica.

A line is served newest first. Past capacity, first-come-first-served would make
every admitted request wait nearly the whole timeout behind the ones that will be
refused anyway; newest first serves fresh requests at once and lets the stale ones
run out. Below capacity the line is short and its order hardly matters.

Enforcement checks, which a suspension waits on, go first and have four times as
many slots again of their own, so listings and ingest filling the worker never make a
check wait. Probes and ``/metrics`` are never held: an orchestrator must see a busy
worker alive, and how much it sheds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from enum import IntEnum

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import problem_response

SHED = Counter(
    "mrd_http_shed_total",
    "Requests answered 503 because the worker was at capacity, by lane and why: the "
    "line was full (queue_full) or the wait ran out (queue_timeout).",
    ["lane", "reason"],
)
QUEUE_WAIT = Histogram(
    "mrd_http_queue_wait_seconds",
    "Time admitted requests waited in line for a slot.",
    ["lane"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

NEVER_HELD = frozenset({"/healthz", "/readyz", "/metrics", "/xrpc/_health"})
ENFORCEMENT_PATHS = frozenset({"/v1/enforcement/check"})
# Slots only enforcement checks may take, per slot of MRD_MAX_IN_FLIGHT. A check is
# two indexed reads on the event loop (about a millisecond): a burst of them should
# queue there, not be refused, while the worker is full of slower requests.
ENFORCEMENT_SLOTS_PER_SLOT = 4
# A shed client should come back soon: the line drains in well under a second.
RETRY_AFTER_S = 1


class Lane(IntEnum):
    """Who goes first when a slot frees: lower values first."""

    ENFORCEMENT = 0
    OTHER = 1


def lane_of(path: str) -> Lane | None:
    """The lane of a request path; None for requests that are never held."""
    if path in NEVER_HELD:
        return None
    return Lane.ENFORCEMENT if path in ENFORCEMENT_PATHS else Lane.OTHER


class Gate:
    """Slots and lines of one worker. Runs on its event loop only, so needs no lock."""

    def __init__(self, capacity: int, queue_timeout_s: float, max_waiting: int) -> None:
        self.capacity, self.queue_timeout_s, self.max_waiting = (
            capacity,
            queue_timeout_s,
            max_waiting,
        )
        self.in_flight = 0
        self.lines: dict[Lane, deque[asyncio.Future[None]]] = {lane: deque() for lane in Lane}

    def _has_room(self, lane: Lane) -> bool:
        limit = self.capacity
        if lane is Lane.ENFORCEMENT:
            limit += ENFORCEMENT_SLOTS_PER_SLOT * self.capacity
        return self.in_flight < limit

    def waiting(self) -> int:
        return sum(len(line) for line in self.lines.values())

    async def enter(self, lane: Lane) -> str | None:
        """Take a slot, waiting in ``lane``'s line if need be; None once admitted, or
        why not (``queue_full``, ``queue_timeout``)."""
        line = self.lines[lane]
        if not line and self._has_room(lane):
            self.in_flight += 1
            return None
        if self.waiting() >= self.max_waiting:
            return "queue_full"
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(turn)
        try:
            async with asyncio.timeout(self.queue_timeout_s):
                await turn
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                return None  # handed a slot as the time ran out: it is ours
            if turn in line:  # a slot freed meanwhile may have dropped it already
                line.remove(turn)
            return "queue_timeout"
        except BaseException:  # the client went away while waiting
            if turn.done() and not turn.cancelled():
                self.leave()
            elif turn in line:
                line.remove(turn)
            raise
        return None

    def leave(self) -> None:
        """Give back a slot and hand free slots to the waiting: enforcement checks
        first, each line newest first."""
        self.in_flight -= 1
        for lane in Lane:
            line = self.lines[lane]
            while line and self._has_room(lane):
                turn = line.pop()  # newest first
                if not turn.done():
                    self.in_flight += 1
                    turn.set_result(None)


class Admission:
    """The ASGI middleware around a worker's routes (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, capacity: int, queue_timeout_s: float, max_waiting: int
    ) -> None:
        self.app = app
        self.gate = Gate(capacity, queue_timeout_s, max_waiting)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = lane_of(scope["path"]) if scope["type"] == "http" else None
        if lane is None:
            await self.app(scope, receive, send)
            return
        arrived = time.perf_counter()
        refused = await self.gate.enter(lane)
        if refused is not None:
            SHED.labels(lane.name.lower(), refused).inc()
            response = problem_response(
                503,
                f"This worker is at capacity ({self.gate.capacity} requests in progress); "
                "retry after the time given.",
                "overloaded",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        QUEUE_WAIT.labels(lane.name.lower()).observe(time.perf_counter() - arrived)
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()
