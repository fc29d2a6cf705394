"""AT Protocol labels: the service's answers in a labeler's own words, signed, for the
platform's own tools to read (``com.atproto.label.queryLabels``).

Two values, on accounts named by DID (others cannot be labelled in AT Protocol):

- ``mass-report-target``: the enforcement check holds the account (``target_risk`` at
  least 0.5): its reports are a brigade's, and suspending it on their count would do
  the brigade's work.
- ``coordinated-reporter``: ``reporter_risk`` at least 0.9. A label is public and
  clients may act on it, so it takes a higher bar than a hold: at 0.9 the calibrated
  chance that the account is not a brigade member is under one in ten.

Labels follow full analysis runs: after each, a label is published for every account
that newly qualifies and a negation (``neg``) for every label that no longer applies.
Each is signed as atproto labelers sign: the DAG-CBOR encoding of the label without
``sig``, hashed with SHA-256, signed with the service's secp256k1 key (low-S, r || s),
whose public half the service's DID document gives as ``#atproto_label``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import Connection

from app.config import Settings
from app.db import labels_repository
from app.detection.documents import AccountRisk
from app.detection.scores import FLAG
from app.services.atproto import XrpcError, multikey
from app.services.lexicon import FORMATS

QUERY_LABELS = "com.atproto.label.queryLabels"
TARGET_LABEL = "mass-report-target"
REPORTER_LABEL = "coordinated-reporter"
REPORTER_CUT = 0.9
SECP256K1_ORDER = int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)
LIMIT_DEFAULT, LIMIT_MAX = 50, 250
# A seq this service gave out: digits, within a 64-bit integer.
CURSOR = re.compile(r"[0-9]{1,18}")


def _head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
    raise ValueError("too long for CBOR")


def dag_cbor(value: Any) -> bytes:
    """DAG-CBOR of the values a label holds: maps with text keys (sorted by length, then
    bytes, as the format requires), text, bytes, non-negative integers, booleans."""
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int) and value >= 0:
        return _head(0, value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return _head(5, len(keys)) + b"".join(dag_cbor(k) + dag_cbor(value[k]) for k in keys)
    raise TypeError(f"not a label value: {type(value).__name__}")


class LabelKey:
    """The service's label-signing key: a secp256k1 private key given as 64 hex digits
    (``MRD_ATPROTO_LABEL_KEY``), as atproto labelers keep theirs."""

    def __init__(self, hex_key: str) -> None:
        number = int(hex_key, 16)
        if len(hex_key) != 64 or not 0 < number < SECP256K1_ORDER:
            raise ValueError("a label key is 64 hex digits of a secp256k1 private key")
        self._private = ec.derive_private_key(number, ec.SECP256K1())

    @classmethod
    def generate(cls) -> LabelKey:
        private = ec.generate_private_key(ec.SECP256K1())
        number = private.private_numbers().private_value
        return cls(f"{number:064x}")

    @property
    def hex(self) -> str:
        return f"{self._private.private_numbers().private_value:064x}"

    @property
    def multikey(self) -> str:
        """The public key as ``publicKeyMultibase`` (``did:key:`` + this is its did:key)."""
        return multikey(self._private.public_key())

    def sign(self, data: bytes) -> bytes:
        """ECDSA over SHA-256 of ``data``, low-S, as 64 bytes r || s."""
        r, s = decode_dss_signature(self._private.sign(data, ec.ECDSA(hashes.SHA256())))
        s = min(s, SECP256K1_ORDER - s)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def unsigned(src: str, uri: str, val: str, neg: bool, cts: str) -> dict[str, Any]:
    """A label without its signature: what is signed (``neg`` only when true)."""
    label: dict[str, Any] = {"ver": 1, "src": src, "uri": uri, "val": val, "cts": cts}
    if neg:
        label["neg"] = True
    return label


def wanted(accounts: Iterable[AccountRisk]) -> set[tuple[str, str]]:
    """The (DID, value) labels an analysis run's account documents call for."""
    found = set()
    for account in accounts:
        if not FORMATS["did"].match(account.account_id):
            continue
        if account.target_risk >= FLAG:
            found.add((account.account_id, TARGET_LABEL))
        if account.reporter_risk >= REPORTER_CUT:
            found.add((account.account_id, REPORTER_LABEL))
    return found


@dataclass(frozen=True)
class Labeler:
    """The service as an AT Protocol labeler: its DID (each label's ``src``) and key."""

    did: str
    key: LabelKey

    @classmethod
    def configured(cls, settings: Settings) -> Labeler | None:
        """The labeler the settings describe; None unless both DID and key are set."""
        if not settings.atproto_service_did or not settings.atproto_label_key:
            return None
        return cls(settings.atproto_service_did, LabelKey(settings.atproto_label_key))

    def publish(self, conn: Connection, accounts: Iterable[AccountRisk], now: datetime) -> int:
        """Bring the published labels in line with a run's accounts: a label for each
        new one, a negation for each withdrawn one, and each label signed by another
        key (the key was replaced) signed again. Returns how many were published."""
        standing = labels_repository.standing(conn, self.did)
        want = wanted(accounts)
        signer = self.key.multikey
        changes = []
        for subject in sorted(want | set(standing)):
            applies, signed_by = standing.get(subject, (False, signer))
            should = subject in want
            if applies != should or signed_by != signer:
                changes.append((*subject, not should))
        cts = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for uri, val, neg in changes:
            sig = self.key.sign(dag_cbor(unsigned(self.did, uri, val, neg, cts)))
            labels_repository.replace(conn, self.did, uri, val, neg, cts, sig, signer)
        return len(changes)


def label_json(src: str, row: labels_repository.LabelRow) -> dict[str, Any]:
    """A stored label as the lexicon's ``com.atproto.label.defs#label`` in JSON (bytes as
    ``{"$bytes": base64}``, unpadded)."""
    sig = base64.b64encode(row.sig).decode().rstrip("=")
    return unsigned(src, row.uri, row.val, row.neg, row.cts) | {"sig": {"$bytes": sig}}


def query(
    conn: Connection,
    src: str,
    uri_patterns: list[str],
    sources: list[str] | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """``queryLabels``: the labels on subjects matching ``uri_patterns`` (a pattern
    ending in ``*`` is a prefix), oldest first after ``cursor``."""
    if not uri_patterns:
        raise XrpcError(400, "InvalidRequest", "uriPatterns is required")
    if any("*" in p.removesuffix("*") for p in uri_patterns):
        raise XrpcError(400, "InvalidRequest", "a * may only end a uriPattern")
    if not 1 <= limit <= LIMIT_MAX:
        raise XrpcError(400, "InvalidRequest", f"limit must be 1 to {LIMIT_MAX}")
    if cursor is not None and not CURSOR.fullmatch(cursor):
        raise XrpcError(400, "InvalidRequest", "cursor is not one this service gave out")
    if sources and src not in sources:
        return {"labels": []}
    exact = [p for p in uri_patterns if not p.endswith("*")]
    prefixes = [p.removesuffix("*") for p in uri_patterns if p.endswith("*")]
    rows = labels_repository.matching(conn, src, exact, prefixes, int(cursor or 0), limit)
    answer: dict[str, Any] = {"labels": [label_json(src, row) for row in rows]}
    if rows:
        answer["cursor"] = str(rows[-1].seq)
    return answer
