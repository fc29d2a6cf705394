"""Admission control: a worker past its capacity says so at once.

Past capacity an open queue grows without bound and every request, a suspension
pipeline's check among them, waits for minutes; a quick 503 lets a client back off
or try another replica. So each HTTP worker handles at most ``MRD_MAX_IN_FLIGHT``
requests at a time; the rest wait in line for at most ``MRD_QUEUE_TIMEOUT_S`` and
are then answered 503 with ``Retry-After``. A full line (``MRD_MAX_QUEUE``) pushes
out its stalest waiter, with a 503, for the newcomer.

A line is served newest first. Past capacity, first-come-first-served would make
every admitted request wait nearly the whole timeout behind the ones that will be
refused anyway; newest first serves fresh requests at once and lets the stale ones
run out. Below capacity the line is short and its order hardly matters.

Enforcement checks, which a suspension waits on, have a pool of their own, four
times as many slots, that listings and ingest can never take: a worker full of those
still answers checks at once. A slot is taken only once the request's body has
arrived, so a client sending slowly (or not at all) holds none. Probes and
``/metrics`` are never held: an orchestrator must see a busy worker alive, and how
much it sheds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from enum import Enum

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.body_limit import BodyTooLarge, BodyTooSlow
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
# Enforcement checks' own slots, per slot of MRD_MAX_IN_FLIGHT. A check is two indexed
# reads on the event loop (about a millisecond): a burst of them should queue there,
# not be refused.
ENFORCEMENT_SLOTS_PER_SLOT = 4
# A shed client should come back soon: the line drains in well under a second.
RETRY_AFTER_S = 1


class Lane(Enum):
    """Which pool a request takes its slot from."""

    ENFORCEMENT = "enforcement"
    OTHER = "other"


def lane_of(path: str) -> Lane | None:
    """The lane of a request path; None for requests that are never held."""
    if path in NEVER_HELD:
        return None
    return Lane.ENFORCEMENT if path in ENFORCEMENT_PATHS else Lane.OTHER


class Pool:
    """One lane's slots and line. Runs on its worker's event loop only: no lock."""

    def __init__(self, slots: int, queue_timeout_s: float, max_waiting: int) -> None:
        self.slots, self.queue_timeout_s, self.max_waiting = slots, queue_timeout_s, max_waiting
        self.in_flight = 0
        # Each waiter's turn: True when handed a slot, False when pushed out of a full line.
        self.line: deque[asyncio.Future[bool]] = deque()

    async def enter(self) -> str | None:
        """Take a slot, waiting in line if need be; None once admitted, or why not
        (``queue_full``: the line was full, ``queue_timeout``: the wait ran out)."""
        line = self.line
        if not line and self.in_flight < self.slots:
            self.in_flight += 1
            return None
        if self.max_waiting == 0:
            return "queue_full"
        if len(line) >= self.max_waiting:
            # The stalest waiter makes room: it is the likeliest to be given up on.
            stalest = line.popleft()
            if not stalest.done():
                stalest.set_result(False)
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        line.append(turn)
        try:
            async with asyncio.timeout(self.queue_timeout_s):
                admitted = await turn
        except TimeoutError:
            if turn.done() and not turn.cancelled():  # answered as the time ran out
                return None if turn.result() else "queue_full"
            if turn in line:  # a slot freed meanwhile may have dropped it already
                line.remove(turn)
            return "queue_timeout"
        except BaseException:  # the client went away while waiting
            if turn.done() and not turn.cancelled():
                if turn.result():
                    self.leave()
            elif turn in line:
                line.remove(turn)
            raise
        return None if admitted else "queue_full"

    def leave(self) -> None:
        """Give back a slot and hand free ones to the waiting, newest first."""
        self.in_flight -= 1
        while self.line and self.in_flight < self.slots:
            turn = self.line.pop()
            if not turn.done():
                self.in_flight += 1
                turn.set_result(True)


class Gate:
    """A worker's pools: ``capacity`` slots for requests in general, and slots of their
    own for enforcement checks, which general traffic can never take."""

    def __init__(self, capacity: int, queue_timeout_s: float, max_waiting: int) -> None:
        self.pools = {
            Lane.ENFORCEMENT: Pool(
                ENFORCEMENT_SLOTS_PER_SLOT * capacity, queue_timeout_s, max_waiting
            ),
            Lane.OTHER: Pool(capacity, queue_timeout_s, max_waiting),
        }


async def _whole_body(receive: Receive) -> list[Message]:
    """The request's body messages, read to the end before a slot is taken: a client
    that sends its body slowly (or never) must not hold a slot while it does."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


class Admission:
    """The ASGI middleware around a worker's routes (see the module docstring); inside
    ``BodyLimit``, whose cap and deadline bound the body read before admission."""

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
        try:
            body = await _whole_body(receive)
        except (BodyTooLarge, BodyTooSlow) as refusal:
            await problem_response(refusal.status_code, refusal.detail, refusal.kind)(
                scope, receive, send
            )
            return
        pool = self.gate.pools[lane]
        arrived = time.perf_counter()
        refused = await pool.enter()
        if refused is not None:
            SHED.labels(lane.value, refused).inc()
            response = problem_response(
                503,
                f"This worker is at capacity ({pool.slots} such requests in progress); "
                "retry after the time given.",
                "overloaded",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        QUEUE_WAIT.labels(lane.value).observe(time.perf_counter() - arrived)

        async def replayed() -> Message:
            return body.pop(0) if body else await receive()

        try:
            await self.app(scope, replayed, send)
        finally:
            pool.leave()
