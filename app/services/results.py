"""Reading a run's results: documents, pages of them with opaque cursors, and the
answers for accounts and networks the run has nothing on.

A cursor is the last item's sort position, encoded; anything this service did not
give out is refused (``BadCursor``), never read as something else.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.db import results_repository as results
from app.db.results_repository import WaveFilter as WaveFilter  # the routers build it
from app.detection.data import to_iso
from app.detection.documents import (
    AccountName,
    AccountRecord,
    AccountRisk,
    Group,
    Network,
    Reliability,
    SignalInfo,
    TierListing,
    Wave,
    WaveSummary,
    as_json,
)
from app.detection.scores import FLAG, LOG_SCALED, load_models
from app.detection.signals import SIGNAL_DEFINITIONS, SIGNALS

Item = TypeVar("Item", bound=BaseModel)
Page = tuple[list[Item], str | None]


class BadCursor(ValueError):
    """A cursor this service did not give out."""


def _encode(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def _after(cursor: str | None, convert: Callable[[Any], Any]) -> tuple[Any, str] | None:
    """The position ``cursor`` holds (its first field through ``convert``, which raises
    ValueError on a value of the wrong kind), or None without a cursor."""
    if not cursor:
        return None
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(position, list) or len(position) != 2:
            raise ValueError(position)
        value, key = position
        if not isinstance(key, str) or "\x00" in key:
            raise ValueError(key)
        return convert(value), key
    except (ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        raise BadCursor(cursor) from None


def _moment(value: Any) -> datetime:
    """A cursor's time: an ISO 8601 string with its offset."""
    if not isinstance(value, str):
        raise ValueError(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment.astimezone(UTC)  # OverflowError at the calendar's ends


def _count(value: Any) -> int:
    """A cursor's size: an integer the group size column (32 bits) holds."""
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise ValueError(value)
    return value


def _score(value: Any) -> float:
    """A cursor's risk: a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _page(rows: Sequence[Item], limit: int, position: tuple[str, str]) -> Page[Item]:
    """A page of ``limit`` items from ``limit + 1`` rows, and the cursor after it: the
    last item's ``position`` fields (None at the end)."""
    items = list(rows[:limit])
    if len(rows) <= limit:
        return items, None
    return items, _encode([getattr(items[-1], p) for p in position])


def waves(
    session: Session,
    run_id: str | None,
    limit: int,
    cursor: str | None,
    only: WaveFilter,
    orchestrator_id: str | None = None,
) -> Page[WaveSummary]:
    """Waves, newest first (``since``: ending after it; ``until``: starting before it);
    with ``orchestrator_id``, only the waves that account is listed as directing."""
    if run_id is None:
        return [], None
    after = _after(cursor, _moment)
    if orchestrator_id is not None:
        found = results.account_risks(session, run_id, [orchestrator_id]).get(orchestrator_id)
        led = [d.wave_id for d in found.waves_directed] if found else []
        only = replace(only, wave_ids=led)
    rows = results.waves_page(session, run_id, limit + 1, after, only)
    return _page(rows, limit, ("start", "wave_id"))


# Report texts shown with a wave.
SAMPLE_TEXTS = 5


def wave(session: Session, run_id: str | None, wave_id: str) -> Wave | None:
    """The wave, with the text of each orchestrator's naming post and the reports' most
    repeated texts (the detector's documents keep neither: texts stay in the database)."""
    found = results.wave(session, run_id, wave_id) if run_id else None
    if found is None:
        return None
    posts = [o.directive.post_id for o in found.orchestrators if o.directive]
    texts = results.post_texts(session, posts) if posts else {}
    for orchestrator in found.orchestrators:
        if orchestrator.directive is not None:
            orchestrator.directive.text = texts.get(orchestrator.directive.post_id)
    span = (results.parse_time(found.start), results.parse_time(found.end))
    found.sample_texts = results.report_texts(
        session, found.target_id, found.content_id, span, SAMPLE_TEXTS
    )
    return found


def mentioned(document: BaseModel) -> set[str]:
    """The ids of the accounts a document names, where a person reads them."""
    if isinstance(document, WaveSummary):
        ids = {document.target_id} | {o.account_id for o in document.orchestrators}
        if isinstance(document, Wave):
            ids |= {r.account_id for r in document.reporters}
        return ids
    if isinstance(document, Group):
        return set(document.members) | set(document.target_ids)
    if isinstance(document, AccountRisk):
        ids = {document.account_id} | {d.target_id for d in document.waves_directed}
        return ids | ({document.recreated_from} if document.recreated_from else set())
    if isinstance(document, Network):
        ids = {hub.account_id for hub in document.hubs}
        ids |= {tie.source for tie in document.ties} | {tie.target for tie in document.ties}
        for listing in document.tiers.values():
            ids |= set(listing.accounts or []) | set(listing.sample or [])
        return ids
    raise TypeError(type(document).__name__)


def names(session: Session, documents: Sequence[BaseModel]) -> dict[str, AccountName]:
    """Handle and display name of every account the documents name (as last ingested;
    accounts with no record are left out)."""
    ids = set().union(*(mentioned(d) for d in documents)) if documents else set()
    found = results.account_names(session, sorted(ids))
    return {
        account_id: AccountName(handle=handle, display_name=display_name)
        for account_id, (handle, display_name) in sorted(found.items())
    }


def groups(session: Session, run_id: str | None, limit: int, cursor: str | None) -> Page[Group]:
    """Lockstep groups, largest first."""
    if run_id is None:
        return [], None
    rows = results.groups_page(session, run_id, limit + 1, _after(cursor, _count))
    return _page(rows, limit, ("size", "group_id"))


def group(session: Session, run_id: str | None, group_id: str) -> Group | None:
    return results.group(session, run_id, group_id) if run_id else None


def targets(
    session: Session, run_id: str | None, limit: int, cursor: str | None
) -> Page[AccountRisk]:
    """Accounts by target risk, highest first."""
    if run_id is None:
        return [], None
    rows = results.targets_page(session, run_id, limit + 1, _after(cursor, _score), FLAG)
    return _page(rows, limit, ("target_risk", "account_id"))


def unscored(account_id: str) -> AccountRisk:
    """The risk of an account the run has nothing on: none."""
    return AccountRisk(
        account_id=account_id,
        tier=None,
        tier_label=None,
        tier_confidence=0.0,
        tier_evidence=[],
        reporter_risk=0.0,
        target_risk=0.0,
        core_risk=0.0,
        group_ids=[],
        reliability=Reliability(reports=0, upheld=0, unfounded=0, score=0.5),
        recreated_from=None,
        explanations=["not in the latest analysis"],
        updated_at=None,
    )


def account_risk(session: Session, run_id: str | None, account_id: str) -> AccountRisk | None:
    """The run's document of the account; ``unscored`` if the run has none but some
    ingested data names the account; None for an account never seen."""
    found = results.account_risks(session, run_id, [account_id]).get(account_id) if run_id else None
    if found is not None:
        return found
    return unscored(account_id) if results.account_seen(session, account_id) else None


def account_risks_json(
    session: Session, run_id: str | None, account_ids: Sequence[str]
) -> dict[str, Any]:
    """Each account's document (``unscored`` where the run has none) and the names of
    the accounts they mention, as the JSON the API sends: the stored documents pass
    through as stored, with no model built and checked again for each (the batch
    lookup is a hot route)."""
    found = results.account_risk_documents(session, run_id, account_ids) if run_id else {}
    items = [found.get(a) or as_json(unscored(a)) for a in account_ids]
    named: set[str] = set()
    for item in items:
        named.add(item["account_id"])
        named.update(directed["target_id"] for directed in item.get("waves_directed", []))
        if item.get("recreated_from"):
            named.add(item["recreated_from"])
    names = results.account_names(session, sorted(named))
    accounts = {
        account_id: {"handle": handle, "display_name": display_name}
        for account_id, (handle, display_name) in sorted(names.items())
    }
    return {"items": items, "accounts": accounts}


def account_record(session: Session, account_id: str) -> AccountRecord | None:
    """The account as last ingested."""
    account = results.account_record(session, account_id)
    if account is None:
        return None
    document = {field: getattr(account, field) for field in AccountRecord.model_fields}
    for field in ("created_at", "status_changed_at", "updated_at"):
        if document[field] is not None:
            document[field] = to_iso(document[field].timestamp())
    return AccountRecord(**document)


def empty_network() -> Network:
    return Network(
        tiers={
            "1": TierListing(label="official", count=0, accounts=[]),
            "2": TierListing(label="supporting_institution", count=0, accounts=[]),
            "3": TierListing(label="supporter", count=0, sample=[]),
        },
        hubs=[],
        updated_at=None,
    )


def network(session: Session, run_id: str | None) -> Network:
    found = results.network(session, run_id) if run_id else None
    return found or empty_network()


def find_accounts(session: Session, text: str, limit: int) -> list[dict[str, str | None]]:
    """The search box: by id, handle (a leading ``@`` dropped) or display name."""
    text = text.strip()
    text = text[1:] if text.startswith("@") and len(text) > 1 else text
    return results.find_accounts(session, text, limit) if text else []


@cache
def signal_catalogue() -> tuple[SignalInfo, ...]:
    """Every wave signal with its definition and the wave model's organic reference, in
    the signal's own units (the model reads durations and ages as log(1 + value)). The
    shipped models do not change while the service runs: read once."""
    model = load_models().wave
    reference = dict(zip(model.features, model.centre, strict=True))
    for name in LOG_SCALED:
        reference[name] = float(np.expm1(reference[name]))
    return tuple(
        SignalInfo(
            name=name,
            definition=SIGNAL_DEFINITIONS[name],
            organic_median=round(float(reference[name]), 4),
        )
        for name in SIGNALS
    )
