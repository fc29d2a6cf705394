"""AT Protocol moderation-service intake: ``com.atproto.moderation.createReport`` as a
PDS proxies it, so a Bluesky labeler or any AT Protocol client can send reports here.

The PDS signs an inter-service JWT with the reporter's own key: ``iss`` the reporter's
DID, ``aud`` this service's DID, ``lxm`` the method, ``exp`` soon, ``jti`` unique. The
issuer's signing key comes from its DID document (``#atproto``, a Multikey), fetched
from the PLC directory (did:plc) or the issuer's host (did:web) and cached. Errors are
XRPC's own: ``{error, message}`` with the names atproto's servers use.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.db.engine import Database
from app.entities import ACCOUNTS, REPORT_TEXT_MAX_LENGTH, REPORTS, fitted_id
from app.services.ingest import IngestResult, ingest_batch
from app.services.lexicon import check_input

CREATE_REPORT = "com.atproto.moderation.createReport"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Multicodec prefixes of compressed public keys in a Multikey.
CURVES = {b"\xe7\x01": ec.SECP256K1(), b"\x80\x24": ec.SECP256R1()}
JWT_CURVES = {"ES256K": ec.SECP256K1, "ES256": ec.SECP256R1}
# The service id of a moderation service in DID documents and proxy headers.
LABELER_SERVICE = "atproto_labeler"


class XrpcError(Exception):
    """An XRPC error answer: ``status``, ``error`` (its name) and ``message``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _base58(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + BASE58.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def public_key(multikey: str) -> ec.EllipticCurvePublicKey:
    """A DID document's ``publicKeyMultibase`` (base58btc, multicodec-prefixed,
    compressed point) as a key."""
    if not multikey.startswith("z"):
        raise ValueError("not a base58btc multikey")
    raw = _base58(multikey[1:])
    curve = CURVES.get(raw[:2])
    if curve is None:
        raise ValueError("not a secp256k1 or P-256 key")
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, raw[2:])


def multikey(key: ec.EllipticCurvePublicKey) -> str:
    """A public key as a DID document's ``publicKeyMultibase`` (``public_key``'s
    inverse)."""
    prefix = next(p for p, curve in CURVES.items() if curve.name == key.curve.name)
    raw = prefix + key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    number, text = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    return "z" + "1" * (len(raw) - len(raw.lstrip(b"\0"))) + text


def signing_key(document: dict[str, Any], did: str) -> str:
    """The ``#atproto`` verification method's key of a DID document."""
    if document.get("id") != did:
        raise ValueError("the document is not the issuer's")
    for method in document.get("verificationMethod") or []:
        if str(method.get("id", "")).endswith("#atproto"):
            return str(method["publicKeyMultibase"])
    raise ValueError("the document has no #atproto key")


class KeyResolver:
    """Issuers' signing keys, from their DID documents, cached for ``ttl_s``."""

    def __init__(self, plc_url: str, ttl_s: float = 3600.0, timeout_s: float = 5.0) -> None:
        self.plc_url = plc_url.rstrip("/")
        self.ttl_s, self.timeout_s = ttl_s, timeout_s
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def document_url(self, did: str) -> str:
        if did.startswith("did:plc:"):
            return f"{self.plc_url}/{did}"
        if did.startswith("did:web:"):
            host = unquote(did.removeprefix("did:web:"))
            return f"https://{host}/.well-known/did.json"
        raise ValueError(f"unsupported DID method: {did}")

    def key(self, did: str, fresh: bool = False) -> str:
        """The issuer's ``#atproto`` Multikey; ValueError when it cannot be had."""
        with self._lock:
            cached = self._cache.get(did)
        if cached and not fresh and time.monotonic() - cached[1] < self.ttl_s:
            return cached[0]
        try:
            answer = httpx.get(self.document_url(did), timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ValueError(f"the DID document could not be fetched: {exc}") from None
        if answer.status_code != 200:
            raise ValueError(f"no DID document for {did} ({answer.status_code})")
        found = signing_key(answer.json(), did)
        with self._lock:
            self._cache[did] = (found, time.monotonic())
        return found


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verified(multikey: str, alg: str, signed: bytes, signature: bytes) -> bool:
    try:
        key = public_key(multikey)
    except ValueError:
        return False
    if not isinstance(key.curve, JWT_CURVES[alg]) or len(signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify(token: str, service_did: str, method: str, keys: KeyResolver) -> dict[str, Any]:
    """The JWT's claims once its form, time, audience, method and signature hold;
    ``XrpcError`` (401) naming the first that does not."""
    try:
        head, body, sig = token.split(".")
        header, claims = orjson.loads(_b64(head)), orjson.loads(_b64(body))
        signature = _b64(sig)
    except (ValueError, orjson.JSONDecodeError):
        raise XrpcError(401, "BadJwt", "poorly formatted jwt") from None
    if not isinstance(header, dict) or header.get("alg") not in JWT_CURVES:
        raise XrpcError(401, "BadJwt", "poorly formatted jwt (alg must be ES256K or ES256)")
    if not isinstance(claims, dict) or not all(
        isinstance(claims.get(k), t) for k, t in (("iss", str), ("aud", str), ("exp", int))
    ):
        raise XrpcError(401, "BadJwt", "poorly formatted jwt (iss, aud and exp are required)")
    if time.time() > claims["exp"]:
        raise XrpcError(401, "JwtExpired", "jwt expired")
    # The bare DID, or the DID with the moderation service's id, as proxy headers name
    # it (atproto's revised service-auth proposal: accept both while bare DIDs last).
    if claims["aud"] not in (service_did, f"{service_did}#{LABELER_SERVICE}"):
        raise XrpcError(401, "BadJwtAudience", "jwt audience does not match service did")
    if claims.get("lxm") != method:
        state = "bad" if "lxm" in claims else "missing"
        raise XrpcError(
            401, "BadJwtLexiconMethod", f'{state} jwt lexicon method ("lxm"). must match: {method}'
        )
    issuer = claims["iss"].split("#")[0]
    signed = f"{head}.{body}".encode()
    try:
        if _verified(keys.key(issuer), header["alg"], signed, signature):
            return claims
        # A key rotated since it was cached: look once more.
        if _verified(keys.key(issuer, fresh=True), header["alg"], signed, signature):
            return claims
    except ValueError as exc:
        raise XrpcError(401, "BadJwtSignature", f"could not verify jwt signature: {exc}") from None
    raise XrpcError(401, "BadJwtSignature", "jwt signature does not match jwt issuer")


def reason(reason_type: str) -> str:
    """``com.atproto.moderation.defs#reasonSpam`` as ``spam``: the part after ``#``."""
    name = reason_type.rpartition("#")[2] or reason_type
    name = name.removeprefix("reason") or name
    return name[:64].lower()


def _subject(subject: dict[str, Any]) -> tuple[str, str | None]:
    """(target account, content) of a report's subject: a repo or one of its records."""
    if "uri" in subject:
        authority = subject["uri"].removeprefix("at://").split("/")[0]
        if not authority.startswith("did:"):
            raise XrpcError(400, "InvalidRequest", "subject.uri must name its repo by DID")
        return authority, fitted_id(subject["uri"], "at-uri")
    return subject["did"], None


@dataclass(frozen=True)
class Filed:
    """The report as stored and answered."""

    answer: dict[str, Any]
    stored: IngestResult


def create_report(
    db: Database, claims: dict[str, Any], request: dict[str, Any], body: bytes, tolerance_s: float
) -> Filed:
    """Store the report of an authenticated request. Its ``jti`` (or, without one, a
    digest of the issuer and body) is the event id, so a re-sent report is a duplicate
    (stored once; a re-send under a newer token is the same report, not a conflict)."""
    problems = check_input(CREATE_REPORT, request)
    if problems:
        raise XrpcError(400, "InvalidRequest", "; ".join(problems))
    reporter = claims["iss"].split("#")[0]
    target, content = _subject(request["subject"])
    unique = claims.get("jti") or hashlib.sha256(reporter.encode() + b"\n" + body).hexdigest()
    event_id = "atproto:" + hashlib.sha256(f"{reporter}\n{unique}".encode()).hexdigest()[:48]
    # When the reporter's PDS issued the token: the same for a re-sent request.
    issued = claims.get("iat")
    now = datetime.fromtimestamp(issued, UTC) if isinstance(issued, int) else datetime.now(UTC)
    item = {
        "event_id": event_id,
        "reporter_id": reporter,
        "target_id": target,
        "reason": reason(request["reasonType"]),
        "created_at": now.isoformat(),
        "text": (request.get("reason") or "")[:REPORT_TEXT_MAX_LENGTH] or None,
        **({"content_id": content} if content else {}),
    }
    ingest_batch(db, ACCOUNTS, [{"account_id": reporter}, {"account_id": target}], tolerance_s)
    stored = ingest_batch(db, REPORTS, [item], tolerance_s)
    answer = {
        # A stable number per report: the same for a re-sent one (53 bits, safe in JSON).
        "id": int(event_id.removeprefix("atproto:")[:13], 16),
        "reasonType": request["reasonType"],
        "subject": request["subject"],
        "reportedBy": reporter,
        "createdAt": now.isoformat().replace("+00:00", "Z"),
    }
    if request.get("reason"):
        answer["reason"] = request["reason"]
    return Filed(answer=answer, stored=stored)
