"""The detector's public face: what ``app.detection`` exports works as its docstring
says, and every document ``shape()`` builds fits its declared model exactly (no field
missing, none undeclared), so the API's schemas and the documents cannot drift apart."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

import app.detection as detection
from app.api.results import _empty_network, _unscored
from app.detection import AnalyzeResult, analyze, build_data, shape
from app.simulate import SCENARIOS, generate


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
    analysed = AnalyzeResult.model_validate(documents)
    assert analysed.waves and analysed.groups and analysed.accounts
    for wave in documents["waves"]:
        fields_match(detection.Wave, wave)
    for group in documents["groups"]:
        fields_match(detection.Group, group)
    for account in documents["accounts"]:
        fields_match(detection.AccountRisk, account)
    fields_match(detection.Network, documents["network"])


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
    fields_match(detection.AccountRisk, _unscored("never-analysed"))
    fields_match(detection.Network, _empty_network())
