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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import libipld
import orjson
import pytest
from atproto_client import models
from atproto_crypto.did import format_multikey
from atproto_crypto.verify import verify_signature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.context import ServiceContext, context_of
from app.config import Settings
from app.db.migrations import upgrade_to_head
from app.detection.documents import AccountRisk
from app.main import create_app
from app.services.atproto import CREATE_REPORT
from app.services.labels import (
    QUERY_LABELS,
    REPORTER_LABEL,
    TARGET_LABEL,
    Labeler,
    LabelKey,
    dag_cbor,
)
from app.services.labels import unsigned as unsigned_label
from app.services.lexicon import LEXICONS, check_input, check_output
from tests.conftest import (
    BACKENDS,
    LiveServer,
    fresh_postgres_database,
    snapshot,
    wait_for_run,
)
from tests.conftest import send as send_rows

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
    app = service_app(
        f"sqlite:///{tmp_path_factory.mktemp('atproto') / 'mrd.db'}", atproto_plc_url=plc
    )
    with LiveServer(app) as server:
        yield server


def service_app(url: str, **settings: Any) -> FastAPI:
    """The service as an AT Protocol moderation service (``SERVICE_DID``) on the migrated
    database ``url``, with ``settings``."""
    upgrade_to_head(url)
    return create_app(
        Settings(
            database_url=url, bootstrap_api_key=KEY, atproto_service_did=SERVICE_DID, **settings
        )
    )


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


def test_the_audience_may_name_the_moderation_service(
    moderation: LiveServer, reporter_key: ec.EllipticCurvePrivateKey
) -> None:
    body = report_body(models.ComAtprotoAdminDefs.RepoRef(did=TARGET))
    named = send(moderation, service_jwt(reporter_key, aud=f"{SERVICE_DID}#atproto_labeler"), body)
    assert named.status_code == 200, named.text
    other = send(moderation, service_jwt(reporter_key, aud=f"{SERVICE_DID}#bsky_appview"), body)
    assert other.status_code == 401 and other.json()["error"] == "BadJwtAudience"


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


# Labels: the service answering back as an AT Protocol labeler.

LABEL_KEY = "5d1e6b7a0c9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170600"
VICTIMS = ("did:plc:victimjournalist0000001", "did:plc:victimanalyst00000000002")


def did(kind: str, n: int) -> str:
    return f"did:plc:{kind}{n:0{24 - len(kind)}d}"


def brigade_world() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accounts and reports: 150 new accounts reporting two analysts, a day apart,
    within twenty minutes each, in the same words; 120 ordinary reports on other
    accounts spread over the days before."""
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    accounts = [
        {
            "account_id": did("brigade", n),
            "handle": f"ansar{n}.bsky.social",
            "created_at": (start - timedelta(days=4)).isoformat(),
        }
        for n in range(150)
    ] + [
        {
            "account_id": did("reader", n),
            "handle": f"reader{n}.bsky.social",
            "created_at": (start - timedelta(days=800 + n)).isoformat(),
        }
        for n in range(120)
    ]
    reports = []
    for v, victim in enumerate(VICTIMS):
        for n in range(150):
            at = start + timedelta(days=v, seconds=8 * n)
            reports.append(
                {
                    "event_id": f"brigade-{v}-{n}",
                    "reporter_id": did("brigade", n),
                    "target_id": victim,
                    "reason": "violation",
                    "created_at": at.isoformat(),
                    "text": "this account spreads lies about the state",
                }
            )
    for n in range(120):
        at = start - timedelta(hours=2 + 3 * n)
        reports.append(
            {
                "event_id": f"ordinary-{n}",
                "reporter_id": did("reader", n),
                "target_id": did("spammer", n % 40),
                "reason": "spam",
                "created_at": at.isoformat(),
                "text": f"spam {n}",
            }
        )
    return accounts, reports


class Labelling(NamedTuple):
    client: httpx.Client
    context: ServiceContext


@pytest.fixture(scope="module", params=BACKENDS)
def labeling(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Labelling]:
    """The service as a labeler (service DID and label key set), after a run over a
    brigade, on each database: a client of it (admin key) and its context."""
    if request.param == "sqlite":
        yield from labelling_service(f"sqlite:///{tmp_path_factory.mktemp('labels') / 'mrd.db'}")
    else:
        with fresh_postgres_database("labels") as url:
            yield from labelling_service(url)


def labelling_service(url: str) -> Iterator[Labelling]:
    app = service_app(url, atproto_label_key=LABEL_KEY)
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=60) as client,
    ):
        accounts, reports = brigade_world()
        send_rows(client, "accounts", accounts)
        send_rows(client, "reports", reports)
        run = client.post("/v1/analysis/runs").json()
        assert wait_for_run(client, run["run_id"])["status"] == "succeeded"
        yield Labelling(client, context_of(app))
    app.state.context.db.dispose()


def label_key_of(client: httpx.Client) -> str:
    """The ``#atproto_label`` key, as a client finds it: in the service's DID document."""
    document = client.get("/.well-known/did.json").json()
    (method,) = [m for m in document["verificationMethod"] if m["id"].endswith("#atproto_label")]
    return f"did:key:{method['publicKeyMultibase']}"


def assert_signed(label: dict[str, Any], did_key: str) -> None:
    """A label's signature checks out as atproto checks it: the SDK's verifier over
    libipld's DAG-CBOR of the label without ``sig``."""
    unsigned = {k: v for k, v in label.items() if k != "sig"}
    signature = base64.b64decode(label["sig"]["$bytes"] + "==")
    assert verify_signature(did_key, libipld.encode_dag_cbor(unsigned), signature), label


def test_labels_are_encoded_and_signed_as_atproto_labelers_do() -> None:
    key = LabelKey(LABEL_KEY)
    for neg in (False, True):
        label = unsigned_label(
            SERVICE_DID, VICTIMS[0], TARGET_LABEL, neg, "2026-12-07T09:00:00.000Z"
        )
        assert dag_cbor(label) == libipld.encode_dag_cbor(label)
        assert verify_signature(
            f"did:key:{key.multikey}", dag_cbor(label), key.sign(dag_cbor(label))
        )
    public = ec.derive_private_key(int(LABEL_KEY, 16), ec.SECP256K1()).public_key()
    assert key.multikey == format_multikey(
        "ES256K", public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    )


def test_a_brigades_victims_are_labelled_and_the_labels_verify(labeling: Labelling) -> None:
    labeler = labeling.client
    # The query as the SDK's model of the lexicon's parameters words it. (Its answer
    # model is not used: it takes `sig` as a string, where the lexicon's JSON has bytes
    # as {"$bytes": base64}, as atproto's servers send them.)
    params = models.ComAtprotoLabelQueryLabels.Params(uri_patterns=["did:plc:*"], limit=250)
    answer = labeler.get(
        f"/xrpc/{QUERY_LABELS}", params=params.model_dump(by_alias=True, exclude_none=True)
    ).json()
    assert check_output(QUERY_LABELS, answer) == []
    found = {(label["uri"], label["val"]) for label in answer["labels"]}
    assert {(v, TARGET_LABEL) for v in VICTIMS} <= found
    reporters = {uri for uri, val in found if val == REPORTER_LABEL}
    assert reporters and all(uri.startswith("did:plc:brigade") for uri in reporters)
    assert not any("reader" in uri or "spammer" in uri for uri, _ in found)
    did_key = label_key_of(labeler)
    for label in answer["labels"]:
        assert label["src"] == SERVICE_DID and "neg" not in label
        assert_signed(label, did_key)
    # One subject exactly, another labeler, paging.
    only = labeler.get(f"/xrpc/{QUERY_LABELS}", params={"uriPatterns": VICTIMS[1]}).json()
    assert [(x["uri"], x["val"]) for x in only["labels"]] == [(VICTIMS[1], TARGET_LABEL)]
    other = {"uriPatterns": "*", "sources": "did:web:another-labeler.test"}
    assert labeler.get(f"/xrpc/{QUERY_LABELS}", params=other).json() == {"labels": []}
    first = labeler.get(f"/xrpc/{QUERY_LABELS}", params={"uriPatterns": "*", "limit": 2}).json()
    rest = labeler.get(
        f"/xrpc/{QUERY_LABELS}",
        params={"uriPatterns": "*", "cursor": first["cursor"], "limit": 250},
    ).json()
    assert [x["uri"] for x in first["labels"] + rest["labels"]] == [
        x["uri"] for x in answer["labels"]
    ]


def every_label(client: httpx.Client, cursor: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"uriPatterns": "*", "limit": 250}
    answer = client.get(
        f"/xrpc/{QUERY_LABELS}", params=params | ({"cursor": cursor} if cursor else {})
    )
    assert answer.status_code == 200, answer.text
    assert check_output(QUERY_LABELS, answer.json()) == []
    return dict(answer.json())


def accounts_labelled(labels: list[dict[str, Any]]) -> list[AccountRisk]:
    """Account documents that call for exactly these labels (the fields labels read)."""
    risks: dict[str, dict[str, float]] = {}
    for label in labels:
        risk = risks.setdefault(label["uri"], {"reporter_risk": 0.0, "target_risk": 0.0})
        risk["target_risk" if label["val"] == TARGET_LABEL else "reporter_risk"] = 0.99
    return [AccountRisk.model_construct(account_id=a, **r) for a, r in risks.items()]


def test_a_withdrawn_label_comes_back_as_its_negation(labeling: Labelling) -> None:
    labeler, context = labeling
    assert context.labeler is not None
    before = every_label(labeler)
    # The newest label is withdrawn too: its negation must still come after the cursor.
    newest = before["labels"][-1]
    kept = [label for label in before["labels"] if label is not newest][:1]
    with context.db.engine.begin() as conn:
        published = context.labeler.publish(conn, accounts_labelled(kept), datetime.now(UTC))
    assert published == len(before["labels"]) - 1
    after = every_label(labeler, before["cursor"])
    assert all(label["neg"] is True for label in after["labels"])
    withdrawn = {(x["uri"], x["val"]) for x in before["labels"] if x is not kept[0]}
    assert {(x["uri"], x["val"]) for x in after["labels"]} == withdrawn
    for label in after["labels"]:
        assert_signed(label, label_key_of(labeler))
    # Published again, unchanged: nothing new.
    with context.db.engine.begin() as conn:
        assert context.labeler.publish(conn, accounts_labelled(kept), datetime.now(UTC)) == 0
        # As the run found them: every label applies again, under newer cursors.
        context.labeler.publish(conn, accounts_labelled(before["labels"]), datetime.now(UTC))
    again = every_label(labeler, after["cursor"])["labels"]
    assert {(x["uri"], x["val"]) for x in again} == withdrawn and not any("neg" in x for x in again)


def test_labels_signed_by_a_replaced_key_are_signed_again(labeling: Labelling) -> None:
    labeler, context = labeling
    assert context.labeler is not None
    before = every_label(labeler)
    current = accounts_labelled([x for x in before["labels"] if "neg" not in x])
    rotated = Labeler(SERVICE_DID, LabelKey.generate())
    with context.db.engine.begin() as conn:
        assert rotated.publish(conn, current, datetime.now(UTC)) == len(before["labels"])
    for label in every_label(labeler, before["cursor"])["labels"]:
        assert_signed(label, f"did:key:{rotated.key.multikey}")
    # And back: the configured key signs them all again.
    with context.db.engine.begin() as conn:
        assert context.labeler.publish(conn, current, datetime.now(UTC)) == len(before["labels"])
    for label in every_label(labeler)["labels"]:
        assert_signed(label, label_key_of(labeler))


def test_labels_are_read_for_this_labeler_only(labeling: Labelling) -> None:
    mine = labeling.client.get(
        f"/xrpc/{QUERY_LABELS}",
        params={"uriPatterns": VICTIMS[1], "sources": ["did:web:other.test", SERVICE_DID]},
    ).json()
    assert [(x["uri"], x["val"]) for x in mine["labels"]] == [(VICTIMS[1], TARGET_LABEL)]
    # Another labeler's labels in the same table are not this service's to serve.
    other = Labeler("did:web:other.test", LabelKey.generate())
    with labeling.context.db.engine.begin() as conn:
        other.publish(
            conn, accounts_labelled([{"uri": VICTIMS[1], "val": REPORTER_LABEL}]), datetime.now(UTC)
        )
    again = labeling.client.get(f"/xrpc/{QUERY_LABELS}", params={"uriPatterns": VICTIMS[1]}).json()
    assert again["labels"] == mine["labels"]
    # Prefixes compare exactly: upper case finds nothing on either database.
    upper = {"uriPatterns": "DID:PLC:*"}
    assert labeling.client.get(f"/xrpc/{QUERY_LABELS}", params=upper).json() == {"labels": []}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"uriPatterns": "*", "limit": 0},
        {"uriPatterns": "*", "limit": "many"},
        {"uriPatterns": "*", "cursor": "not-a-cursor"},
        {"uriPatterns": "*", "cursor": "\u00b2"},
        {"uriPatterns": "*", "cursor": "99999999999999999999"},
        {"uriPatterns": "did:*:victim"},
    ],
)
def test_bad_label_queries_are_invalid_request(labeling: Labelling, params: dict[str, Any]) -> None:
    answer = labeling.client.get(f"/xrpc/{QUERY_LABELS}", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidRequest"


def test_without_a_label_key_there_are_no_labels(moderation: LiveServer) -> None:
    answer = httpx.get(f"{moderation.url}/xrpc/{QUERY_LABELS}", params={"uriPatterns": "*"})
    assert answer.status_code == 501 and answer.json()["error"] == "MethodNotImplemented"
    document = httpx.get(f"{moderation.url}/.well-known/did.json").json()
    assert document["verificationMethod"] == []


def test_the_documented_label_verifies_against_the_documented_key(labeling: Labelling) -> None:
    paths = labeling.client.get("/openapi.json").json()["paths"]

    def example(path: str) -> Any:
        return paths[path]["get"]["responses"]["200"]["content"]["application/json"]["example"]

    (label,) = example(f"/xrpc/{QUERY_LABELS}")["labels"]
    assert check_output(QUERY_LABELS, {"labels": [label]}) == []
    (method,) = example("/.well-known/did.json")["verificationMethod"]
    assert_signed(label, f"did:key:{method['publicKeyMultibase']}")
