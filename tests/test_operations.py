"""Health, readiness, metrics, and problem+json for routing errors and crashes."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade_to_head
from app.main import create_app
from tests.conftest import LiveServer


def test_healthz_and_readyz(anonymous: httpx.Client) -> None:
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_is_503_until_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unmigrated.db'}"
    with (
        LiveServer(create_app(Settings(database_url=url))) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        response = http.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "mrd migrate" in response.json()["detail"]
        assert http.get("/healthz").status_code == 200
        upgrade_to_head(url)
        assert http.get("/readyz").status_code == 200
        with Database(url).engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        assert http.get("/readyz").status_code == 503


def test_readyz_is_503_when_database_unreachable() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    with (
        LiveServer(create_app(Settings(database_url=url))) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        response = http.get("/readyz")
        assert response.status_code == 503
        assert "unreachable" in response.json()["detail"]


def test_metrics_count_requests_by_route_template_and_items(client: httpx.Client) -> None:
    report = {
        "event_id": "m1",
        "reporter_id": "r",
        "target_id": "t",
        "reason": "spam",
        "created_at": 1501322400,
    }
    client.post(
        "/v1/reports", json={"reports": [report, report | {"event_id": "m2", "created_at": "bad"}]}
    )
    client.delete("/v1/keys/key_does_not_exist")
    body = client.get("/metrics").text
    assert 'mrd_http_requests_total{method="POST",route="/v1/reports",status="200"}' in body
    assert 'route="/v1/keys/{key_id}",status="404"' in body
    assert "key_does_not_exist" not in body
    assert 'mrd_ingest_items_total{kind="reports",outcome="accepted"}' in body
    assert 'mrd_ingest_items_total{kind="reports",outcome="rejected"}' in body
    assert "mrd_http_request_duration_seconds_bucket" in body


def test_unknown_route_and_wrong_method_are_problems(anonymous: httpx.Client) -> None:
    for response, status in (
        (anonymous.get("/v1/nothing-here"), 404),
        (anonymous.put("/healthz"), 405),
    ):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_server_error_leaks_no_stack_trace(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'boom.db'}"
    upgrade_to_head(url)
    app = create_app(Settings(database_url=url, auth_disabled=True))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:
        response = http.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


def test_readiness_probes_log_nothing(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Probes come every few seconds: a ready service answers them without a log line."""
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            assert client.get("/readyz").status_code == 200
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
