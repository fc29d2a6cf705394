"""Prometheus metrics: requests and latency by route template, ingested items by kind.

With several worker processes (``mrd serve --workers N``) each worker writes its
figures to ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds them up, so any worker
answers for all of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.supervisor import read_state

disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "mrd_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "mrd_http_request_duration_seconds",
    "Time to answer HTTP requests.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter(
    "mrd_ingest_items_total", "Ingested items by kind and outcome.", ["kind", "outcome"]
)


def record_ingest(
    kind: str, accepted: int, duplicates: int, rejected: int, conflicts: int = 0
) -> None:
    """Count a batch's items; ``rejected`` excludes the ``conflicts`` (re-sent event ids
    with other content), counted under their own outcome."""
    for outcome, count in (
        ("accepted", accepted),
        ("duplicate", duplicates),
        ("rejected", rejected),
        ("conflict", conflicts),
    ):
        if count:
            INGESTED.labels(kind, outcome).inc(count)


class BackgroundCollector(Collector):
    """The background process as ``mrd serve``'s supervisor last saw it (app.supervisor);
    nothing when no supervisor runs."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        state = read_state()
        if state is None:
            return
        yield GaugeMetricFamily(
            "mrd_background_up", "1 while the background process runs.", value=int(state.up)
        )
        yield CounterMetricFamily(
            "mrd_background_restarts",
            "Times mrd serve restarted its background process after it died.",
            value=state.restarts,
        )


BACKGROUND = BackgroundCollector()
REGISTRY.register(BACKGROUND)


def metrics_response() -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(BACKGROUND)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (not its raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - start)
