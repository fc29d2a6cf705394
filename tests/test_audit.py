"""The audit log records every administrative action, with who did it, and no
secret ever reaches the log or the service's own logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import ADMIN_KEY, UNANSWERED_HOOK


def test_admin_actions_are_audited_newest_first_without_secrets(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    me = client.get("/v1/keys").json()["items"][0]["key_id"]
    created = client.post("/v1/keys", json={"name": "pipeline", "scopes": ["read"]}).json()
    assert client.delete(f"/v1/keys/{created['key_id']}").status_code == 204
    hook = client.post(
        "/v1/webhooks",
        json={"url": UNANSWERED_HOOK, "secret": "webhook-secret-0123456789"},
    ).json()
    assert client.delete(f"/v1/webhooks/{hook['webhook_id']}").status_code == 204

    log = client.get("/v1/audit").json()["items"]
    assert [(e["action"], e["subject"]) for e in log[:4]] == [
        ("webhook.deleted", hook["webhook_id"]),
        ("webhook.created", hook["webhook_id"]),
        ("key.revoked", created["key_id"]),
        ("key.created", created["key_id"]),
    ]
    assert {e["actor"] for e in log[:4]} == {me}
    only_keys = client.get("/v1/audit", params={"action": "key.revoked"}).json()["items"]
    assert [e["subject"] for e in only_keys] == [created["key_id"]]

    text = str(log) + caplog.text
    for secret in (created["key"], "webhook-secret-0123456789", ADMIN_KEY):
        assert secret not in text


def test_the_audit_log_needs_admin(client: httpx.Client, anonymous: httpx.Client) -> None:
    reader = client.post("/v1/keys", json={"name": "reader", "scopes": ["read"]}).json()["key"]
    assert anonymous.get("/v1/audit").status_code == 401
    assert anonymous.get("/v1/audit", headers={"X-API-Key": reader}).status_code == 403
