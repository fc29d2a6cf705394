"""The detector's public face: what ``app.detection`` exports works as its docstring
says, and every document ``shape()`` builds survives its trip through JSON (as stored
and served) exactly: no field missing, none undeclared, none changed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

import app.detection as detection
from app.detection import analyze, build_data, shape
from app.detection.documents import as_json
from app.services.results import empty_network, unscored
from app.tools.simulate import SCENARIOS, generate


def test_the_public_names_resolve() -> None:
    assert all(hasattr(detection, name) for name in detection.__all__)


def fields_match(kind: type[BaseModel], document: dict[str, Any]) -> None:
    """The document passes through its model unchanged, at every depth: no field is
    missing, none undeclared (it would vanish from answers), none changed."""
    passed = kind.model_validate(document).model_dump(mode="json", exclude_unset=True)
    assert passed == document, {k: v for k, v in passed.items() if document.get(k) != v}


def test_every_document_fits_its_model() -> None:
    world = generate(SCENARIOS["baseline"], seed=604, scale=0.1)
    data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
    documents = shape(analyze(data))
    assert isinstance(documents, detection.Documents)
    assert documents.waves and documents.groups and documents.accounts
    stored = documents.as_json()
    for wave in stored["waves"]:
        fields_match(detection.Wave, wave)
    for group in stored["groups"]:
        fields_match(detection.Group, group)
    for account in stored["accounts"]:
        fields_match(detection.AccountRisk, account)
    fields_match(detection.Network, stored["network"])
    assert detection.Documents.model_validate(stored) == documents


def test_results_stored_by_older_versions_are_still_served() -> None:
    """0.1.0 stored account documents without ``core_risk`` and ``tier_evidence``."""
    old = {
        "account_id": "a",
        "tier": 3,
        "tier_label": "supporter",
        "tier_confidence": 0.9,
        "reporter_risk": 0.8,
        "target_risk": 0.0,
        "group_ids": [],
        "reliability": {"reports": 3, "upheld": 0, "unfounded": 2, "score": 0.25},
        "recreated_from": None,
        "explanations": [],
        "content_risk": {},
        "reports_received": 0,
        "updated_at": "2017-07-29T10:00:00Z",
    }
    fields_match(detection.AccountRisk, old)


def test_the_services_own_placeholders_fit_too() -> None:
    fields_match(detection.AccountRisk, as_json(unscored("never-analysed")))
    fields_match(detection.Network, as_json(empty_network()))
