"""``mrd load``: send a data-set folder to a running service.

Entities go in dependency order (accounts, edges, posts, reports in time order,
decisions), in batches. Ingest is idempotent, so a failed or interrupted load can
simply be run again; transient failures (connection errors, 429, 5xx) are retried
with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.datasets import ENTITY_ORDER, count_lines, read_entities

BATCH_SIZES = {
    "accounts": 5_000,
    "edges": 20_000,
    "posts": 5_000,
    "reports": 5_000,
    "decisions": 5_000,
}
RETRIES = 5


@dataclass
class KindSummary:
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    first_errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class LoadError(RuntimeError):
    """The service refused a whole batch, or kept failing after retries."""


def _timestamp_key(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")  # the service will reject it; send it last


def rows_in_order(folder: Path, kind: str) -> Iterator[dict[str, Any]]:
    """Rows of one entity file; reports sorted by ``created_at`` (stable)."""
    if kind != "reports":
        yield from read_entities(folder, kind)
        return
    yield from sorted(
        read_entities(folder, kind), key=lambda r: _timestamp_key(r.get("created_at"))
    )


def batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _post(client: httpx.Client, kind: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
    body = orjson.dumps({kind: batch})
    delay = 0.5
    for attempt in range(RETRIES + 1):
        try:
            response = client.post(
                f"/v1/{kind}", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError as exc:
            if attempt == RETRIES:
                raise LoadError(f"{kind}: the service did not answer ({exc})") from None
        else:
            if response.status_code == 200:
                answer: dict[str, Any] = response.json()
                return answer
            transient = response.status_code == 429 or response.status_code >= 500
            if not transient or attempt == RETRIES:
                detail = response.json().get("detail", response.text) if response.content else ""
                raise LoadError(f"{kind}: HTTP {response.status_code}: {detail}")
            delay = float(response.headers.get("Retry-After", delay))
        time.sleep(delay)
        delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")


def load_dataset(
    folder: Path,
    client: httpx.Client,
    on_progress: Callable[[str, int, int], None] = lambda _kind, _done, _total: None,
) -> dict[str, KindSummary]:
    """Send every entity file of ``folder``; ``on_progress(kind, sent, total)`` after each batch."""
    summaries: dict[str, KindSummary] = {}
    for kind in ENTITY_ORDER:
        total = count_lines(folder, kind)
        if total == 0:
            continue
        summary = summaries[kind] = KindSummary()
        began = time.perf_counter()
        for batch in batches(rows_in_order(folder, kind), BATCH_SIZES[kind]):
            answer = _post(client, kind, batch)
            summary.sent += len(batch)
            summary.accepted += answer["accepted"]
            summary.duplicates += answer.get("duplicates", 0)
            summary.rejected += len(answer["rejected"])
            if answer["rejected"] and len(summary.first_errors) < 5:
                summary.first_errors += answer["rejected"][: 5 - len(summary.first_errors)]
            on_progress(kind, summary.sent, total)
        summary.seconds = time.perf_counter() - began
    return summaries
