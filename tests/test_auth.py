"""API keys: scopes, hashing, bootstrap, revocation, disabled auth."""

from __future__ import annotations

import logging
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.engine import Database
from app.db.migrations import upgrade_to_head
from app.db.models import ApiKey
from app.main import (
    AUTH_FAILURE_BURST,
    AUTH_FAILURES_PER_S,
    announce_bootstrap_key,
    create_app,
)
from app.services.keys import ensure_bootstrap_key
from app.services.limits import RateLimiter
from tests.conftest import ADMIN_KEY, LiveServer, served_app

REPORT = {
    "event_id": "e1",
    "reporter_id": "r",
    "target_id": "t",
    "reason": "spam",
    "created_at": 1501322400,
}


def make_key(client: httpx.Client, *scopes: str) -> dict[str, object]:
    response = client.post("/v1/keys", json={"name": "k", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    return response.json()


def test_missing_and_unknown_keys_are_401(anonymous: httpx.Client) -> None:
    for headers in ({}, {"X-API-Key": "not-a-key"}):
        response = anonymous.post("/v1/reports", json={"reports": [REPORT]}, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def test_scopes_are_enforced_and_admin_implies_all(
    client: httpx.Client, anonymous: httpx.Client
) -> None:
    read_key = make_key(client, "read")["key"]
    ingest_key = make_key(client, "ingest")["key"]
    body = {"reports": [REPORT]}
    assert (
        anonymous.post("/v1/reports", json=body, headers={"X-API-Key": read_key}).status_code == 403
    )
    assert (
        anonymous.post("/v1/reports", json=body, headers={"X-API-Key": ingest_key}).status_code
        == 200
    )
    assert anonymous.get("/v1/keys", headers={"X-API-Key": ingest_key}).status_code == 403
    assert client.post("/v1/reports", json=body).status_code == 200


def test_keys_are_stored_hashed_and_listed_without_secrets(
    client: httpx.Client, db: Database
) -> None:
    created = make_key(client, "ingest", "read")
    assert created["scopes"] == ["ingest", "read"]
    secret = str(created["key"])
    with db.sessions() as session:
        rows = session.scalars(select(ApiKey)).all()
    assert all(secret not in (r.digest, r.lookup, r.name) for r in rows)
    listing = client.get("/v1/keys").json()["items"]
    assert {k["key_id"] for k in listing} >= {created["key_id"]}
    assert all("key" not in k for k in listing)
    assert secret not in str(listing)


def test_revoked_key_is_refused(client: httpx.Client, anonymous: httpx.Client) -> None:
    created = make_key(client, "read", "ingest")
    assert client.delete(f"/v1/keys/{created['key_id']}").status_code == 204
    response = anonymous.post(
        "/v1/reports", json={"reports": [REPORT]}, headers={"X-API-Key": str(created["key"])}
    )
    assert response.status_code == 401
    assert client.delete(f"/v1/keys/{created['key_id']}").status_code == 404


def test_last_admin_key_cannot_be_revoked(client: httpx.Client) -> None:
    [admin] = [k for k in client.get("/v1/keys").json()["items"] if "admin" in k["scopes"]]
    assert client.delete(f"/v1/keys/{admin['key_id']}").status_code == 409
    second = make_key(client, "admin")
    assert client.delete(f"/v1/keys/{admin['key_id']}").status_code == 204
    with httpx.Client(
        base_url=str(client.base_url), headers={"X-API-Key": str(second["key"])}
    ) as other:
        assert other.get("/v1/keys").status_code == 200


def test_invalid_key_requests_are_422(client: httpx.Client) -> None:
    response = client.post("/v1/keys", json={"name": "", "scopes": ["root"]})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "name"),
        ("body", "scopes", 0),
    }


GENERATED_KEY = re.compile(r"mrd_[A-Za-z0-9_-]{40,}")


@pytest.mark.parametrize("terminal", [True, False])
def test_generated_admin_key_is_printed_once(
    tmp_path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_to_head(url)
    db = Database(url)
    with db.sessions() as session:
        secret = ensure_bootstrap_key(session, None)
        session.commit()
        assert secret and secret.startswith("mrd_")
        assert ensure_bootstrap_key(session, None) is None
    db.dispose()

    url2 = f"sqlite:///{tmp_path / 'fresh2.db'}"
    upgrade_to_head(url2)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    with (
        caplog.at_level(logging.DEBUG),
        LiveServer(create_app(Settings(database_url=url2))) as server,
    ):
        shown = [line for line in capsys.readouterr().err.splitlines() if "(shown once):" in line]
        if terminal:
            [printed] = shown
            secret = printed.rsplit(" ", 1)[-1]
            with httpx.Client(base_url=server.url, headers={"X-API-Key": secret}) as http:
                assert http.get("/v1/keys").status_code == 200
        else:
            # Standard error is collected with the logs: the secret is not written there.
            assert shown == []
            assert any("mrd keys create" in r.getMessage() for r in caplog.records)
    # Never handed to logging (JSON logs are shipped and kept).
    assert any("admin key" in r.getMessage() for r in caplog.records)
    assert not any(GENERATED_KEY.search(r.getMessage()) for r in caplog.records)


def test_bootstrap_key_is_admin(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'boot.db'}"
    upgrade_to_head(url)
    with (
        LiveServer(
            create_app(Settings(database_url=url, bootstrap_api_key="boot-secret"))
        ) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": "boot-secret"}) as http,
    ):
        [key] = http.get("/v1/keys").json()["items"]
        assert key["scopes"] == ["admin"]


def test_auth_disabled_admits_everyone(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'open.db'}"
    upgrade_to_head(url)
    with (
        caplog.at_level(logging.WARNING, logger="mrd"),
        LiveServer(create_app(Settings(database_url=url, auth_disabled=True))) as server,
    ):
        assert any("MRD_AUTH_DISABLED" in r.getMessage() for r in caplog.records)
        with httpx.Client(base_url=server.url) as http:
            assert http.post("/v1/reports", json={"reports": [REPORT]}).status_code == 200


def test_two_admins_revoking_each_other_at_once_leave_one(
    service: LiveServer, client: httpx.Client
) -> None:
    """The last-admin guard holds under a race: two admin keys revoking each other at
    the same moment never both succeed (tried many times, each a fresh pair)."""
    survivor = ADMIN_KEY
    losers = []
    for _ in range(25):
        # Each round's loser is refused as a revoked key; that is not a guessing attack.
        service.app.state.context.auth_failures = RateLimiter(
            AUTH_FAILURES_PER_S, AUTH_FAILURE_BURST
        )
        with httpx.Client(
            base_url=str(client.base_url), headers={"X-API-Key": survivor}, timeout=60
        ) as admin:
            first, second = make_key(admin, "admin"), make_key(admin, "admin")
            [current] = [
                k
                for k in admin.get("/v1/keys").json()["items"]
                if k["revoked_at"] is None
                and k["key_id"] not in (first["key_id"], second["key_id"])
            ]
            revoking = {"X-API-Key": str(first["key"])}
            assert (
                admin.delete(f"/v1/keys/{current['key_id']}", headers=revoking).status_code == 204
            )
            codes = _revoke_each_other(admin, first, second)
        assert codes.count(204) == 1, codes
        # The loser was refused as revoked (401) or as the last admin (409), nothing else.
        [loser] = [code for code in codes if code != 204]
        assert loser in (401, 409), codes
        losers.append(loser)
        alive = _active(client, first, second)
        survivor = str(first["key"] if alive == first["key_id"] else second["key"])
    # The race did happen: some losers got past authentication before the winner's
    # revocation and met the guard.
    assert 409 in losers, losers


def _revoke_each_other(
    http: httpx.Client, first: dict[str, object], second: dict[str, object]
) -> list[int]:
    """Both keys revoke the other, released at the same moment; the status codes."""
    barrier = threading.Barrier(2)

    def revoke(actor: dict[str, object], victim: dict[str, object]) -> int:
        barrier.wait()
        headers = {"X-API-Key": str(actor["key"])}
        return http.delete(f"/v1/keys/{victim['key_id']}", headers=headers).status_code

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(revoke, (first, second), (second, first)))


def _active(client: httpx.Client, *keys: dict[str, object]) -> str:
    """The one of ``keys`` still active, read with whichever of them works."""
    for key in keys:
        response = client.get("/v1/keys", headers={"X-API-Key": str(key["key"])})
        if response.status_code == 200:
            active = [k["key_id"] for k in response.json()["items"] if k["revoked_at"] is None]
            [alive] = [str(k["key_id"]) for k in keys if k["key_id"] in active]
            return alive
    raise AssertionError("no admin key is left")


def test_a_revoked_bootstrap_key_stays_revoked_across_restarts(
    service: LiveServer, client: httpx.Client, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    second = make_key(client, "admin")
    [bootstrap] = [k for k in client.get("/v1/keys").json()["items"] if k["name"] == "bootstrap"]
    assert client.delete(f"/v1/keys/{bootstrap['key_id']}").status_code == 204
    settings = service.app.state.context.settings
    with caplog.at_level(logging.WARNING, logger="mrd.keys"):
        announce_bootstrap_key(settings, db)  # what every start does
    assert any(bootstrap["key_id"] in r.getMessage() for r in caplog.records)
    assert client.get("/v1/keys").status_code == 401
    with httpx.Client(
        base_url=str(client.base_url), headers={"X-API-Key": str(second["key"])}
    ) as admin:
        keys = {k["key_id"]: k for k in admin.get("/v1/keys").json()["items"]}
        assert keys[bootstrap["key_id"]]["revoked_at"] is not None
        # Rotation: a new bootstrap value is a new admin key, and the audit log says so.
        announce_bootstrap_key(settings.model_copy(update={"bootstrap_api_key": "rotated"}), db)
        [rotated_key] = [
            k
            for k in admin.get("/v1/keys").json()["items"]
            if k["name"] == "bootstrap" and k["revoked_at"] is None
        ]
        assert rotated_key["key_id"] != bootstrap["key_id"]
        created = admin.get("/v1/audit", params={"action": "key.created"}).json()["items"]
        assert rotated_key["key_id"] in {event["subject"] for event in created}
    with httpx.Client(base_url=str(client.base_url), headers={"X-API-Key": "rotated"}) as rotated:
        assert rotated.get("/v1/keys").status_code == 200


AUTH_FAILURE_BURST_REQUESTS = int(AUTH_FAILURE_BURST)


def test_wrong_keys_are_rate_limited_per_address_but_known_keys_pass(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'guess.db'}"
    with served_app(url, "guess-admin-key-0123456789") as admin:
        assert admin.get("/v1/keys").status_code == 200
        statuses = [
            admin.get("/v1/keys", headers={"X-API-Key": f"guess-{n}"}).status_code
            for n in range(AUTH_FAILURE_BURST_REQUESTS + 5)
        ]
        assert statuses[:AUTH_FAILURE_BURST_REQUESTS] == [401] * AUTH_FAILURE_BURST_REQUESTS
        assert set(statuses[AUTH_FAILURE_BURST_REQUESTS:]) == {429}
        refused = admin.get("/v1/keys", headers={"X-API-Key": "guess-again"})
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        # The admin's key, used before the guessing began, still works from the address.
        assert admin.get("/v1/keys").status_code == 200
