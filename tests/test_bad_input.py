"""Bad input gets a clear problem+json answer (or a per-item rejection) and stores nothing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade_to_head
from app.main import create_app
from tests.conftest import ADMIN_KEY, LiveServer, snapshot

GOOD = {
    "event_id": "e1",
    "reporter_id": "r1",
    "target_id": "t1",
    "reason": "spam",
    "created_at": "2017-07-29T10:00:00Z",
}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def assert_nothing_stored(db: Database) -> None:
    assert all(rows == [] for rows in snapshot(db).values())


def test_malformed_json_is_400(client: httpx.Client, db: Database) -> None:
    response = client.post(
        "/v1/reports", content=b'{"reports": [', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in str(assert_problem(response, 400)["detail"])
    assert_nothing_stored(db)


def test_wrong_content_type_is_415(client: httpx.Client, db: Database) -> None:
    response = client.post(
        "/v1/reports",
        content=orjson.dumps({"reports": [GOOD]}),
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(response, 415)
    assert_nothing_stored(db)


@pytest.mark.parametrize(
    "body", [[GOOD], {"report": [GOOD]}, {"reports": GOOD}, {"reports": []}, "x", 5, None]
)
def test_wrong_envelope_is_422(client: httpx.Client, db: Database, body: object) -> None:
    response = client.post(
        "/v1/reports", content=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422)
    assert problem["errors"]
    assert_nothing_stored(db)


def test_too_many_items_is_413(client: httpx.Client, db: Database) -> None:
    reports = [GOOD | {"event_id": f"e{i}"} for i in range(10_001)]
    assert_problem(client.post("/v1/reports", json={"reports": reports}), 413)
    edges = [{"src": "a", "dst": f"b{i}", "kind": "follow"} for i in range(50_001)]
    assert_problem(client.post("/v1/edges", json={"edges": edges}), 413)
    assert_nothing_stored(db)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("created_at", "2017-07-29T10:00:00", "timezone"),
        ("created_at", "2999-01-01T00:00:00Z", "future"),
        ("created_at", 4e10, "future"),
        ("created_at", "1501322400", "RFC 3339"),
        ("created_at", True, "RFC 3339"),
        ("created_at", "yesterday", "datetime"),
        ("reporter_id", "bad\x01id", "control characters"),
        ("reporter_id", "tab\there", "control characters"),
        ("reporter_id", "", "at least 1"),
        ("reporter_id", "x" * 129, "at most 128"),
        ("reporter_id", ["list"], "string"),
        ("text", "x" * 100_000, "at most 2000"),
        ("text", "nul\x00byte", "NUL"),
        ("reason", "r" * 65, "at most 64"),
        ("event_id", None, "string"),
    ],
)
def test_bad_fields_are_rejected_per_item(
    client: httpx.Client, db: Database, field: str, value: object, message: str
) -> None:
    answer = client.post("/v1/reports", json={"reports": [GOOD | {field: value}]}).json()
    assert answer["accepted"] == 0
    [rejection] = answer["rejected"]
    assert rejection["index"] == 0
    assert any(
        e["loc"] == [field] and message.lower() in e["msg"].lower() for e in rejection["errors"]
    ), rejection
    assert_nothing_stored(db)


@pytest.mark.parametrize(
    ("kind", "item"),
    [
        ("accounts", {"account_id": "a", "status": "banned"}),
        ("accounts", {"account_id": "a", "followers_count": -1}),
        ("accounts", {"account_id": "a", "labels": "journalist"}),
        ("accounts", {"account_id": "a", "handle": "h" * 100_000}),
        ("edges", {"src": "a", "dst": "b", "kind": "block"}),
        ("edges", {"src": "a", "dst": "b", "kind": "follow", "weight": 0}),
        ("posts", {"post_id": "p", "author_id": "a"}),
        (
            "posts",
            {
                "post_id": "p",
                "author_id": "a",
                "created_at": 1501322400,
                "mentions": ["ok", "\x07"],
            },
        ),
        (
            "decisions",
            {"decision_id": "d", "target_id": "t", "outcome": "maybe", "decided_at": 1501322400},
        ),
    ],
)
def test_bad_items_of_every_kind_are_rejected(
    client: httpx.Client, db: Database, kind: str, item: dict[str, object]
) -> None:
    answer = client.post(f"/v1/{kind}", json={kind: [item]}).json()
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["index"] == 0
    assert_nothing_stored(db)


@pytest.fixture(scope="module")
def small_limit_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'limits.db'}"
    upgrade_to_head(url)
    settings = Settings(
        database_url=url, bootstrap_api_key=ADMIN_KEY, max_body_bytes=4096, body_timeout_s=1.0
    )
    with LiveServer(create_app(settings)) as server:
        yield server


def test_oversize_body_is_413_and_stores_nothing(small_limit_service: LiveServer) -> None:
    headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
    reports = [GOOD | {"event_id": f"e{i}"} for i in range(100)]
    body = orjson.dumps({"reports": reports})
    assert len(body) > 4096
    with httpx.Client(base_url=small_limit_service.url, headers=headers) as http:
        assert_problem(http.post("/v1/reports", content=body), 413)

        def chunks() -> Iterator[bytes]:
            yield body[:2000]
            yield body[2000:]

        assert_problem(http.post("/v1/reports", content=chunks()), 413)
        assert (
            http.post("/v1/reports", content=orjson.dumps({"reports": reports[:5]})).json()[
                "accepted"
            ]
            == 5
        )
    assert_nothing_stored_but(small_limit_service.app.state.context.db, 5)


def assert_nothing_stored_but(db: Database, reports: int) -> None:
    state = snapshot(db)
    assert len(state["reports"]) == reports
    assert all(rows == [] for name, rows in state.items() if name != "reports")


def test_a_trickling_body_is_408(small_limit_service: LiveServer) -> None:
    """A client that sends a few bytes and then waits holds nothing for long."""
    host, port = small_limit_service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(
            b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + ADMIN_KEY.encode() + b"\r\nContent-Length: 3000\r\n\r\n"
            b'{"reports": ['
        )
        began = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = client.recv(4096)
            if not chunk:
                break
            answer += chunk
    waited = time.monotonic() - began
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"content-type: application/problem+json" in head.lower()
    assert orjson.loads(body)["type"] == "urn:mrd:problem:body-timeout"
    assert 0.9 < waited < 5


@pytest.mark.parametrize(
    "path", ["/v1/enforcement/check", "/v1/accounts/risk", "/v1/keys", "/v1/webhooks"]
)
def test_every_endpoint_caps_its_body(small_limit_service: LiveServer, path: str) -> None:
    headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
    body = orjson.dumps({"account_ids": [f"a{i:06d}" for i in range(1000)]})
    assert len(body) > 4096

    def chunks() -> Iterator[bytes]:
        yield body[:3000]
        yield body[3000:]

    with httpx.Client(base_url=small_limit_service.url, headers=headers) as http:
        assert_problem(http.post(path, content=body), 413)
        assert_problem(http.post(path, content=chunks()), 413)


def test_a_nul_in_any_account_id_is_422(client: httpx.Client, db: Database) -> None:
    """No stored id holds a NUL (PostgreSQL's text refuses it): asking with one is a
    validation problem on both databases, never a 500."""
    report = {"event_id": "n1", "reporter_id": "r", "target_id": "t", "reason": "spam"}
    client.post("/v1/reports", json={"reports": [report | {"created_at": 1501322400}]})
    assert client.post("/v1/analysis/runs").status_code == 202
    asked = [
        client.get("/v1/accounts", params={"q": "a\x00b"}),
        client.get("/v1/waves", params={"target_id": "t\x00"}),
        client.get("/v1/waves", params={"orchestrator_id": "t\x00"}),
        client.get("/v1/accounts/t%00/risk"),
        client.get("/v1/accounts/t%00"),
        client.post("/v1/enforcement/check", json={"target_id": "t\x00"}),
        client.post("/v1/accounts/risk", json={"account_ids": ["t\x00"]}),
    ]
    for answer in asked:
        assert answer.status_code == 422, (answer.request.url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
