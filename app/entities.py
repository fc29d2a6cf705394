"""The five ingested entities of SPEC section 2, validated a whole batch at a time.

Each entity is a ``TypedDict`` so pydantic-core validates a list of them in one call
and hands back plain dicts (no model object per row). Unknown fields are ignored so
clients may send richer records than the contract names.

(No ``from __future__ import annotations`` here: a TypedDict must see ``NotRequired``
itself to know which keys are optional.)
"""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    with_config,
)
from typing_extensions import TypedDict

ENTITY_CONFIG = ConfigDict(extra="ignore", coerce_numbers_to_str=True, str_max_length=100_000)

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

# Control characters (C0, DEL, C1) are never valid in ids; NUL is never valid in any
# text because PostgreSQL cannot store it.
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]+$"
NO_NUL = r"^[^\x00]*$"
# The longest id and report text stored; intakes that translate other formats fit to them.
ID_MAX_LENGTH = 128
REPORT_TEXT_MAX_LENGTH = 2000
ReportText = Annotated[str, StringConstraints(max_length=REPORT_TEXT_MAX_LENGTH, pattern=NO_NUL)]
PostText = Annotated[str, StringConstraints(max_length=20_000, pattern=NO_NUL)]
Handle = Annotated[str, StringConstraints(max_length=256, pattern=NO_NUL)]
DisplayName = Annotated[str, StringConstraints(max_length=512, pattern=NO_NUL)]
Hashtag = Annotated[str, StringConstraints(min_length=1, max_length=280, pattern=NO_CONTROL)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=NO_CONTROL)]


def fitted_id(value: str, prefix: str) -> str:
    """``value`` as an id, or ``prefix:`` and its SHA-256 when it is longer than an id
    may be: the same value always gives the same id."""
    if len(value) <= ID_MAX_LENGTH:
        return value
    return f"{prefix}:{hashlib.sha256(value.encode()).hexdigest()}"


Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=64, pattern=NO_CONTROL
    ),
]


def _epoch_or_rfc3339(value: Any) -> Any:
    """Epoch seconds (a JSON number) become UTC datetimes here.

    pydantic alone would read numbers above 2e10 as milliseconds and accept digit
    strings as epochs; the contract has neither.
    """
    if isinstance(value, bool):
        raise ValueError("timestamp must be an RFC 3339 string or epoch seconds")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError("epoch seconds out of range") from exc
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("+-").replace(".", "", 1).isdigit():
            raise ValueError(
                "a timestamp string must be RFC 3339 with a timezone; "
                "send epoch seconds as a JSON number"
            )
    return value


def _within_clock(value: datetime, info: ValidationInfo) -> datetime:
    value = value.astimezone(UTC)
    latest = (info.context or {}).get("latest")
    if value < EARLIEST:
        raise ValueError("timestamp is before 1970-01-01T00:00:00Z")
    if latest is not None and value > latest:
        raise ValueError(f"timestamp is in the future (later than {latest.isoformat()})")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_epoch_or_rfc3339),
    AfterValidator(_within_clock),
    Field(
        description="RFC 3339 with a timezone, or Unix epoch seconds as a number.",
        examples=["2017-07-29T10:00:00Z"],
    ),
]

EdgeKind = Literal["follow", "retweet", "quote", "reply", "mention", "like"]


@with_config(ENTITY_CONFIG)
class ReportIn(TypedDict):
    """A report/flag event. ``event_id`` makes re-sending safe."""

    event_id: Id
    reporter_id: Id
    target_id: Id
    reason: Label
    created_at: Timestamp
    content_id: NotRequired[Id | None]
    text: NotRequired[ReportText | None]


@with_config(ENTITY_CONFIG)
class AccountIn(TypedDict):
    """Account metadata. Omitted or null fields keep their stored value."""

    account_id: Id
    handle: NotRequired[Handle | None]
    display_name: NotRequired[DisplayName | None]
    created_at: NotRequired[Timestamp | None]
    followers_count: NotRequired[Annotated[int, Field(ge=0, le=2**62)] | None]
    following_count: NotRequired[Annotated[int, Field(ge=0, le=2**62)] | None]
    verified: NotRequired[bool | None]
    labels: NotRequired[Annotated[list[Label], Field(max_length=64)] | None]
    status: NotRequired[Literal["active", "suspended", "deleted"] | None]
    status_changed_at: NotRequired[Timestamp | None]


@with_config(ENTITY_CONFIG)
class EdgeIn(TypedDict):
    """A directed interaction; re-sending sets the weight again, never adds to it."""

    src: Id
    dst: Id
    kind: EdgeKind
    weight: NotRequired[Annotated[int, Field(ge=1, le=2**62)]]
    created_at: NotRequired[Timestamp | None]


@with_config(ENTITY_CONFIG)
class PostIn(TypedDict):
    """A post. ``mentions`` and ``hashtags``, when sent, replace the stored ones."""

    post_id: Id
    author_id: Id
    created_at: Timestamp
    text: NotRequired[PostText | None]
    mentions: NotRequired[Annotated[list[Id], Field(max_length=1000)] | None]
    hashtags: NotRequired[Annotated[list[Hashtag], Field(max_length=1000)] | None]
    reshare_of: NotRequired[Id | None]
    reply_to: NotRequired[Id | None]


@with_config(ENTITY_CONFIG)
class DecisionIn(TypedDict):
    """A moderator's verdict; reports on the target before ``decided_at`` are judged by it."""

    decision_id: Id
    target_id: Id
    outcome: Literal["violation", "no_violation"]
    decided_at: Timestamp
    content_id: NotRequired[Id | None]


@dataclass
class EntityKind:
    """How one entity kind is named, validated, keyed and limited."""

    name: str
    item_type: type
    key: Callable[[Mapping[str, Any]], Any]
    max_items: int
    counts_duplicates: bool
    adapter: TypeAdapter[list[Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.adapter = TypeAdapter(list[self.item_type])  # type: ignore[name-defined]


REPORTS = EntityKind("reports", ReportIn, lambda r: r["event_id"], 10_000, True)
ACCOUNTS = EntityKind("accounts", AccountIn, lambda a: a["account_id"], 10_000, False)
EDGES = EntityKind("edges", EdgeIn, lambda e: (e["src"], e["dst"], e["kind"]), 50_000, False)
POSTS = EntityKind("posts", PostIn, lambda p: p["post_id"], 10_000, True)
DECISIONS = EntityKind("decisions", DecisionIn, lambda d: d["decision_id"], 10_000, False)

ENTITY_KINDS: dict[str, EntityKind] = {
    kind.name: kind for kind in (REPORTS, ACCOUNTS, EDGES, POSTS, DECISIONS)
}


@dataclass
class ValidatedBatch:
    """Items that passed validation (with their batch indices) and those that did not."""

    items: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    # Each item's position in the sent list.
    indices: list[int]


_PATTERN_MESSAGES = {
    NO_CONTROL: "must not contain control characters",
    NO_NUL: "must not contain NUL characters",
}


def friendly_message(error: Mapping[str, Any]) -> str:
    """pydantic's message, reworded where it would puzzle a client."""
    kind = error["type"]
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        return _PATTERN_MESSAGES.get(pattern, str(error["msg"]))
    if kind == "timezone_aware":
        return (
            "timestamp has no timezone: add one (e.g. 'Z' or '+03:00') "
            "or send epoch seconds as a number"
        )
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def validate_batch(
    kind: EntityKind, raw: Sequence[Any], now: datetime, future_tolerance_s: float
) -> ValidatedBatch:
    """Validate a batch in one pass; only when some items fail are the rest re-validated."""
    context = {"latest": now + timedelta(seconds=future_tolerance_s)}
    try:
        items = kind.adapter.validate_python(raw, context=context)
        return ValidatedBatch(items, [], list(range(len(items))))
    except ValidationError as exc:
        errors_by_index: dict[int, list[dict[str, Any]]] = {}
        for err in exc.errors(include_url=False, include_input=False):
            index = err["loc"][0]
            assert isinstance(index, int)
            errors_by_index.setdefault(index, []).append(
                {"loc": list(err["loc"][1:]), "msg": friendly_message(err)}
            )
    indices = [i for i in range(len(raw)) if i not in errors_by_index]
    items = kind.adapter.validate_python([raw[i] for i in indices], context=context)
    rejected = [{"index": i, "errors": errs} for i, errs in sorted(errors_by_index.items())]
    return ValidatedBatch(items, rejected, indices)
