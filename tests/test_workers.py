"""Several worker processes: /metrics from any worker counts the requests of all."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.conftest import SERVICE_KEY, free_port, running_service


def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    with running_service(url, port, "--workers", "2"):
        for i in range(30):
            report = {
                "event_id": f"w{i}",
                "reporter_id": "r",
                "target_id": "t",
                "reason": "spam",
                "created_at": 1501322400,
            }
            # A new connection each time, so the requests spread over the workers.
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": SERVICE_KEY}
            ) as http:
                assert http.post("/v1/reports", json={"reports": [report]}).json()["accepted"] == 1
        pattern = re.compile(r'mrd_ingest_items_total\{kind="reports",outcome="accepted"\} (\S+)')
        for _ in range(6):
            body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            match = pattern.search(body)
            assert match is not None
            assert float(match.group(1)) == 30
