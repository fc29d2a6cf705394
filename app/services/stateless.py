"""``POST /v1/analyze``: the pipeline on entities sent in one body, nothing stored.

Every entity is validated as ingest would; any invalid item refuses the whole body
(an analysis of part of what was sent would mislead), with each item's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.detection.data import build_data
from app.detection.documents import AnalyzeResult
from app.detection.pipeline import analyze
from app.detection.shapes import shape
from app.entities import ENTITY_KINDS, validate_batch

MAX_REPORTS = 200_000
MAX_ERRORS = 1000


class InvalidEntities(ValueError):
    """The body, or some of its items, are not valid entities."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.errors = errors


class TooManyReports(ValueError):
    """More reports than one request may carry."""


def analyze_entities(document: Any, future_tolerance_s: float) -> AnalyzeResult:
    """The documents of ``document`` (``{kind: [item, ...]}``): waves, groups, accounts
    and the network, as the stored analysis would publish them."""
    if not isinstance(document, dict):
        raise InvalidEntities("The body must be an object of entity lists.", [])
    entities: dict[str, list[dict[str, Any]]] = {}
    errors: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for name, kind in ENTITY_KINDS.items():
        raw = document.get(name) or []
        if not isinstance(raw, list):
            errors.append({"loc": ["body", name], "msg": "must be a list"})
            continue
        if name == "reports" and len(raw) > MAX_REPORTS:
            raise TooManyReports(f"At most {MAX_REPORTS} reports per request.")
        batch = validate_batch(kind, raw, now, future_tolerance_s)
        errors += [
            {"loc": ["body", name, r["index"], *e["loc"]], "msg": e["msg"]}
            for r in batch.rejected
            for e in r["errors"]
        ]
        entities[name] = batch.items
    if errors:
        raise InvalidEntities(f"{len(errors)} problems in the entities.", errors[:MAX_ERRORS])
    data = build_data(
        accounts=entities["accounts"],
        edges=entities["edges"],
        posts=entities["posts"],
        reports=entities["reports"],
        decisions=entities["decisions"],
    )
    documents = shape(analyze(data))
    return AnalyzeResult(
        waves=documents.waves,
        groups=documents.groups,
        accounts=documents.accounts,
        network=documents.network,
    )
