"""The detector's public face: what ``app.detection`` exports works as its docstring
says, and every document ``shape()`` builds fits its declared model exactly (no field
missing, none undeclared), so the API's schemas and the documents cannot drift apart."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

import app.detection as detection
from app.detection import Analysed, analyze, build_data, shape
from app.simulate import SCENARIOS, generate


def test_the_public_names_resolve() -> None:
    assert all(hasattr(detection, name) for name in detection.__all__)


def fields_match(kind: type[BaseModel], document: dict[str, Any]) -> None:
    declared = set(kind.model_fields)
    assert set(document) <= declared, set(document) - declared
    required = {n for n, f in kind.model_fields.items() if f.is_required()}
    assert required <= set(document), required - set(document)


def test_every_document_fits_its_model() -> None:
    world = generate(SCENARIOS["baseline"], seed=604, scale=0.1)
    data = build_data(
        accounts=world.accounts,
        edges=world.edges,
        posts=world.posts,
        reports=world.reports,
        decisions=world.decisions,
    )
    documents = shape(analyze(data))
    analysed = Analysed.model_validate(documents)
    assert analysed.waves and analysed.groups and analysed.accounts
    for wave in documents["waves"]:
        fields_match(detection.Wave, wave)
    for group in documents["groups"]:
        fields_match(detection.Group, group)
    for account in documents["accounts"]:
        fields_match(detection.AccountRisk, account)
    fields_match(detection.Network, documents["network"])
