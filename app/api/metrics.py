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

from app.db.engine import Database
from app.services.operations import Figures, figures
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


INTAKE = Counter(
    "mrd_integration_deliveries_total",
    "Deliveries from integrations (Mastodon webhooks) by outcome: stored, ignored (not a "
    "report), unsigned (refused 401), unreadable (refused 422).",
    ["kind", "outcome"],
)


def record_intake(kind: str, outcome: str) -> None:
    INTAKE.labels(kind, outcome).inc()


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

RUN_STATUSES = ("queued", "running", "succeeded", "failed")
DELIVERY_STATUSES = ("pending", "delivered", "dead")


class DatabaseCollector(Collector):
    """Analysis runs and webhook deliveries as the database holds them: the background
    process does this work, so no API process's own counters could show it."""

    def __init__(self, found: Figures) -> None:
        self.found = found

    def collect(self) -> Iterator[GaugeMetricFamily]:
        found = self.found
        runs = GaugeMetricFamily("mrd_analysis_runs", "Analysis runs by status.", labels=["status"])
        for status in RUN_STATUSES:
            runs.add_metric([status], found.runs.get(status, 0))
        yield runs
        deliveries = GaugeMetricFamily(
            "mrd_webhook_deliveries",
            "Webhook deliveries by status (dead: the dead letters).",
            labels=["status"],
        )
        for status in DELIVERY_STATUSES:
            deliveries.add_metric([status], found.deliveries.get(status, 0))
        yield deliveries
        newest = (
            (
                "mrd_analysis_last_success_timestamp_seconds",
                "When the newest succeeded run finished (Unix time).",
                found.last_run_finished,
            ),
            (
                "mrd_analysis_last_run_duration_seconds",
                "How long the newest succeeded run took.",
                found.last_run_seconds,
            ),
            (
                "mrd_analysis_last_run_waves",
                "Waves the newest succeeded run found.",
                found.last_run_waves,
            ),
            (
                "mrd_analysis_last_run_orchestrated_waves",
                "Orchestrated waves the newest succeeded run found.",
                found.last_run_orchestrated,
            ),
        )
        for name, documentation, value in newest:
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)


def metrics_response(db: Database) -> Response:
    """This process's (or every worker's) counters, then the database's figures."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(BACKGROUND)
        text = generate_latest(registry)
    else:
        text = generate_latest()
    found = figures(db)
    if found is not None:
        stored = CollectorRegistry()
        stored.register(DatabaseCollector(found))
        text += generate_latest(stored)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


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
