"""The AT Protocol intake driven as a PDS drives it: request bodies are the ``atproto``
SDK's own models, the reporter's key pair is made here, its DID document is served by a
stub PLC directory on 127.0.0.1, and every request and answer is checked against the
official lexicons (vendored from ``@atproto/api``)."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from atproto_client import models
from atproto_crypto.did import format_multikey
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.config import Settings
from app.db.migrations import upgrade_to_head
from app.main import create_app
from app.services.atproto import CREATE_REPORT
from app.services.lexicon import LEXICONS, check_input, check_output
from tests.conftest import LiveServer, snapshot

SERVICE_DID = "did:web:mrd.test"
REPORTER = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
TARGET = "did:plc:44ybard66vv44zksje25o7dz"
SECP256K1_ORDER = int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)
KEY = "admin-key-for-atproto-tests-0123"


def multikey(private: ec.EllipticCurvePrivateKey) -> str:
    compressed = private.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    return format_multikey("ES256K", compressed)


def did_document(did: str, private: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "alsoKnownAs": ["at://reporter.test"],
        "verificationMethod": [
            {
                "id": f"{did}#atproto",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey(private),
            }
        ],
    }


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def service_jwt(private: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    """An inter-service JWT as a PDS signs it: ES256K, low-S, r || s."""
    now = int(time.time())
    body = {
        "iss": REPORTER,
        "aud": SERVICE_DID,
        "exp": now + 60,
        "iat": now,
        "lxm": CREATE_REPORT,
        "jti": hashlib.sha256(str(time.monotonic_ns()).encode()).hexdigest()[:32],
    } | claims
    body = {k: v for k, v in body.items() if v is not None}
    signing_input = (
        f"{b64(orjson.dumps({'typ': 'JWT', 'alg': 'ES256K'}))}.{b64(orjson.dumps(body))}"
    )
    r, s = decode_dss_signature(private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    s = min(s, SECP256K1_ORDER - s)
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.fixture(scope="module")
def reporter_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256K1())


@pytest.fixture(scope="module")
def plc(reporter_key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    """A PLC directory on 127.0.0.1 that knows the reporter's DID only."""
    directory = FastAPI()

    @directory.get("/{did}")
    def resolve(did: str) -> JSONResponse:
        if did == REPORTER:
            return JSONResponse(did_document(REPORTER, reporter_key))
        return JSONResponse({"message": "DID not registered"}, status_code=404)

    with LiveServer(directory) as server:
        yield server.url


@pytest.fixture(scope="module")
def moderation(plc: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('atproto') / 'mrd.db'}"
    upgrade_to_head(url)
    settings = Settings(
        database_url=url,
        bootstrap_api_key=KEY,
        atproto_service_did=SERVICE_DID,
        atproto_plc_url=plc,
    )
    with LiveServer(create_app(settings)) as server:
        yield server


def report_body(subject: Any, reason: str = "posts threats against me") -> dict[str, Any]:
    data = models.ComAtprotoModerationCreateReport.Data(
        reason_type="com.atproto.moderation.defs#reasonViolation", reason=reason, subject=subject
    )
    body: dict[str, Any] = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert check_input(CREATE_REPORT, body) == []
    return body


def send(server: LiveServer, token: str | None, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.url}/xrpc/{CREATE_REPORT}", json=body, headers=headers, timeout=10)


def stored_count(server: LiveServer) -> float:
    """Reports the AT Protocol intake stored, as ``/metrics`` counts them."""
    metric = 'mrd_integration_deliveries_total{kind="atproto",outcome="stored"} '
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(metric):
            return float(line.removeprefix(metric))
    return 0.0


def test_the_lexicons_are_the_published_ones() -> None:
    readme = (LEXICONS / "README.md").read_text()
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    assert set(listed) == {p.name for p in Path(LEXICONS).glob("*.json")}
    for name, digest in listed.items():
        assert hashlib.sha256((LEXICONS / name).read_bytes()).hexdigest() == digest


def test_a_report_through_a_pds_is_stored_and_a_resend_is_a_duplicate(
    moderation: LiveServer, reporter_key: ec.EllipticCurvePrivateKey
) -> None:
    stored_before = stored_count(moderation)
    body = report_body(models.ComAtprotoAdminDefs.RepoRef(did=TARGET))
    token = service_jwt(reporter_key)
    first = send(moderation, token, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert check_output(CREATE_REPORT, answer) == []
    assert answer["reportedBy"] == REPORTER and answer["subject"] == body["subject"]
    # The same token again (a PDS retrying): the same report, stored once.
    again = send(moderation, token, body)
    assert again.status_code == 200 and again.json()["id"] == answer["id"]
    with moderation.app.state.context.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT reporter_id, target_id, reason, text FROM reports WHERE target_id = :t"),
            {"t": TARGET},
        ).all()
    assert [tuple(r) for r in rows] == [(REPORTER, TARGET, "violation", body["reason"])]
    # A record: its repo's DID is the target, its URI the content.
    record = models.ComAtprotoRepoStrongRef.Main(
        uri=f"at://{TARGET}/app.bsky.feed.post/3kz2abcdxyz2a", cid="bafyreib2rxk3rh6kzwq"
    )
    post = send(moderation, service_jwt(reporter_key), report_body(record))
    assert post.status_code == 200 and check_output(CREATE_REPORT, post.json()) == []
    assert stored_count(moderation) - stored_before == 3  # counted in /metrics


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"aud": "did:web:someone-else.test"}, "BadJwtAudience"),
        ({"exp": int(time.time()) - 10}, "JwtExpired"),
        ({"lxm": "com.atproto.repo.createRecord"}, "BadJwtLexiconMethod"),
        ({"lxm": None}, "BadJwtLexiconMethod"),
        ({"iss": "did:plc:unknownunknownunknown00"}, "BadJwtSignature"),
    ],
)
def test_a_bad_token_is_the_xrpc_error_and_stores_nothing(
    moderation: LiveServer,
    reporter_key: ec.EllipticCurvePrivateKey,
    claims: dict[str, Any],
    error: str,
) -> None:
    db = moderation.app.state.context.db
    before = snapshot(db)
    answer = send(
        moderation,
        service_jwt(reporter_key, **claims),
        report_body(models.ComAtprotoAdminDefs.RepoRef(did=TARGET), reason=f"case {error}"),
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == error
    assert snapshot(db) == before


def test_a_signature_by_another_key_and_a_missing_token_are_refused(
    moderation: LiveServer,
) -> None:
    db = moderation.app.state.context.db
    before = snapshot(db)
    body = report_body(models.ComAtprotoAdminDefs.RepoRef(did=TARGET), reason="forged")
    forged = send(moderation, service_jwt(ec.generate_private_key(ec.SECP256K1())), body)
    assert forged.status_code == 401 and forged.json()["error"] == "BadJwtSignature"
    missing = send(moderation, None, body)
    assert missing.status_code == 401 and missing.json()["error"] == "MissingJwt"
    garbled = send(moderation, "not.a.jwt", body)
    assert garbled.status_code == 401 and garbled.json()["error"] == "BadJwt"
    assert snapshot(db) == before


def test_a_body_the_lexicon_does_not_allow_is_invalid_request(
    moderation: LiveServer, reporter_key: ec.EllipticCurvePrivateKey
) -> None:
    body = {"reasonType": "com.atproto.moderation.defs#reasonSpam"}
    answer = send(moderation, service_jwt(reporter_key), body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "InvalidRequest", "message": "subject is required"}


def test_health_and_the_services_did_document(moderation: LiveServer) -> None:
    assert httpx.get(f"{moderation.url}/xrpc/_health").json()["version"]
    document = httpx.get(f"{moderation.url}/.well-known/did.json").json()
    assert document["id"] == SERVICE_DID
    assert document["service"][0]["serviceEndpoint"] == "https://mrd.test"
