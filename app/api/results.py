"""Result endpoints (scope ``read``): waves, groups, account risk, targets, enforcement.

Every answer comes from the newest analysis run that succeeded.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.api.context import ContextDep, context_of
from app.api.deps import ReadKey, SessionDep
from app.api.examples import DEMO, json_example
from app.api.paths import decoded_segment
from app.api.problems import Problem, problem_responses
from app.detection.documents import (
    AccountName,
    AccountRecord,
    AccountRisk,
    EnforcementAnswer,
    Group,
    Network,
    SignalInfo,
    Wave,
    WaveSummary,
)
from app.entities import NO_NUL
from app.services import enforcement, results

router = APIRouter(prefix="/v1", tags=["results"])


def listed(wave: dict[str, Any]) -> dict[str, Any]:
    """A wave as lists and webhooks show it: no reporters, names, texts or post texts
    (those come with ``GET /v1/waves/{wave_id}`` alone)."""
    single_only = {"reporters", "accounts", "sample_texts"}
    shown = {k: v for k, v in wave.items() if k not in single_only}
    shown["orchestrators"] = [
        o
        | (
            {"directive": {k: v for k, v in o["directive"].items() if k != "text"}}
            if o.get("directive")
            else {}
        )
        for o in wave["orchestrators"]
    ]
    return shown


WAVE_EXAMPLE: dict[str, Any] = listed(DEMO["wave"])
WAVE_ID = Path(
    max_length=64,
    description="A wave id from `GET /v1/waves` (stable across runs while the wave lasts).",
    openapi_examples={
        "demo": {"summary": "An orchestrated wave", "value": DEMO["wave"]["wave_id"]}
    },
)
GROUP_ID = Path(
    max_length=64,
    description="A group id from `GET /v1/groups`.",
    openapi_examples={"demo": {"summary": "A lockstep group", "value": DEMO["group"]["group_id"]}},
)
# An id of at most 128 characters; a "/" or "%" in it arrives encoded (app.api.paths),
# three characters each, and is checked against the length once decoded.
ACCOUNT_ID_LENGTH = 128
ACCOUNT_ID = Path(
    max_length=3 * ACCOUNT_ID_LENGTH,
    description="The account id, percent-encoded: an id may hold any printable "
    "character, `/` included (`a%2Fb`).",
    openapi_examples={
        "target": {
            "summary": "An account under orchestrated attack",
            "value": DEMO["target_risk"]["account_id"],
        },
        "reporter": {
            "summary": "A coordinated reporter",
            "value": DEMO["reporter_risk"]["account_id"],
        },
        "orchestrator": {
            "summary": "The account that named the target before an orchestrated wave",
            "value": DEMO["orchestrator_risk"]["account_id"],
        },
    },
)
NETWORK_EXAMPLE: dict[str, Any] = DEMO["network"]
Item = TypeVar("Item", bound=BaseModel)


def names_field() -> Any:
    return Field(
        default_factory=dict,
        description="Handle and display name of every account this answer names, by id, "
        "as last ingested (accounts never ingested are absent): what a person reads beside "
        "an id.",
    )


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
    accounts: dict[str, AccountName] = names_field()


class NamedWave(Wave):
    accounts: dict[str, AccountName] = names_field()


class NamedGroup(Group):
    accounts: dict[str, AccountName] = names_field()


class NamedNetwork(Network):
    accounts: dict[str, AccountName] = names_field()


class NamedAccountRisk(AccountRisk):
    accounts: dict[str, AccountName] = names_field()


class SignalCatalogue(BaseModel):
    items: list[SignalInfo]


class AccountMatch(AccountName):
    account_id: str


class AccountMatches(BaseModel):
    """Accounts matching a search, exact id first, then by handle, then by name."""

    items: list[AccountMatch]


class WavePage(Page[WaveSummary]):
    """Waves, newest first."""


class GroupPage(Page[Group]):
    """Lockstep groups, largest first."""


class TargetPage(Page[AccountRisk]):
    """Accounts by target risk, highest first."""


class RiskBatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_ids": [
                        DEMO["target_risk"]["account_id"],
                        DEMO["reporter_risk"]["account_id"],
                    ]
                }
            ]
        }
    )

    account_ids: list[Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]] = Field(
        min_length=1, max_length=1000
    )


class RiskItems(BaseModel):
    items: list[AccountRisk]
    accounts: dict[str, AccountName] = names_field()


class EnforcementQuery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"target_id": DEMO["target_risk"]["account_id"]}]}
    )

    target_id: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    content_id: str | None = Field(default=None, max_length=128, pattern=NO_NUL)


Named = TypeVar("Named", bound=BaseModel)


def with_names(answer: type[Named], found: BaseModel, session: Session) -> Named:
    """The document as ``answer``: itself, and the names of the accounts it mentions."""
    fields = found.model_dump(exclude_unset=True)
    return answer(**fields, accounts=results.names(session, [found]))


def warm_up(app: Any) -> None:
    """Open a few connections and run the enforcement check's reads once at start, so
    the first real checks do not pay for them."""
    context = context_of(app)
    context.db.open_connections(4)
    with context.db.engine.connect() as conn:
        enforcement.warm_up(conn, context.current_run)


async def current_run(request: Request) -> str | None:
    """The run whose results a request reads (``enforcement.CurrentRun``)."""
    context = context_of(request.app)
    return context.current_run.get(context.db.engine.connect)


CurrentRunId = Annotated[str | None, Depends(current_run)]


Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the page before.")
]


@router.get(
    "/waves",
    summary="List waves",
    description="Reporting waves of the latest analysis, newest first. Filter by target, "
    "label (`orchestrated`/`organic`), status (`active`/`closed`), minimum score and time "
    "(`since`: waves ending after it, `until`: waves starting before it). Empty until the "
    "first analysis run has finished.",
    response_model=WavePage,
    response_model_exclude_unset=True,
    responses={
        200: {
            "content": {
                "application/json": {"example": {"items": [WAVE_EXAMPLE], "next_cursor": None}}
            }
        },
        **problem_responses(400, 401, 403, 422),
    },
)
def list_waves(
    session: SessionDep,
    _key: ReadKey,
    run_id: CurrentRunId,
    target_id: Annotated[
        str | None,
        Query(max_length=128, pattern=NO_NUL, description="Only waves against this account."),
    ] = None,
    label: Annotated[
        Literal["orchestrated", "organic"] | None,
        Query(description="Only waves with this label (`orchestrated`: score >= 0.5)."),
    ] = None,
    status: Annotated[
        Literal["active", "closed"] | None,
        Query(description="`active`: reports still arriving; `closed`: the wave has ended."),
    ] = None,
    min_score: Annotated[
        float | None, Query(ge=0, le=1, description="Only waves scored at least this.")
    ] = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Only waves that ended at or after this time (with a time zone)."),
    ] = None,
    until: Annotated[
        AwareDatetime | None,
        Query(description="Only waves that started at or before this time (with a time zone)."),
    ] = None,
    orchestrator_id: Annotated[
        str | None,
        Query(
            max_length=128,
            pattern=NO_NUL,
            description="Only the waves this account is listed as directing "
            "(its `waves_directed`).",
        ),
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> WavePage:
    only = results.WaveFilter(
        target_id=target_id,
        label=label,
        status=status,
        min_score=min_score,
        since=since,
        until=until,
    )
    items, next_cursor = results.waves(session, run_id, limit, cursor, only, orchestrator_id)
    return WavePage(items=items, next_cursor=next_cursor, accounts=results.names(session, items))


@router.get(
    "/signals",
    summary="What the wave signals mean",
    description="Every signal a wave carries, with a one-line definition and its median in "
    "organic waves (the wave model's reference): read a wave's `signals` against it, and "
    "its `contributions` for how far each moved the score.",
    response_model=SignalCatalogue,
    responses={
        200: json_example(
            {
                "items": [
                    {
                        "name": "unexposed_fan_share",
                        "definition": "Share of reporters who follow that most-followed "
                        "account yet never saw the target's content: told, not shown.",
                        "organic_median": 0.0769,
                    }
                ]
            }
        ),
        **problem_responses(401, 403),
    },
)
def list_signals(_key: ReadKey) -> SignalCatalogue:
    return SignalCatalogue(items=list(results.signal_catalogue()))


@router.get(
    "/waves/{wave_id}",
    summary="One wave, with its reporters",
    description="The wave and every reporter in it with their `reporter_risk`.",
    response_model=NamedWave,
    response_model_exclude_unset=True,
    responses={
        200: {"content": {"application/json": {"example": DEMO["wave"]}}},
        **problem_responses(401, 403, 404),
    },
)
def get_wave(
    wave_id: Annotated[str, WAVE_ID],
    session: SessionDep,
    _key: ReadKey,
    run_id: CurrentRunId,
) -> NamedWave:
    found = results.wave(session, run_id, wave_id)
    if found is None:
        raise Problem(404, f"No wave {wave_id} in the latest analysis.", "not-found")
    return with_names(NamedWave, found, session)


@router.get(
    "/groups",
    summary="List lockstep groups",
    description="Groups of accounts that report the same targets together again and again, "
    "largest first.",
    response_model=GroupPage,
    response_model_exclude_unset=True,
    responses={
        200: json_example({"items": [DEMO["group"]], "next_cursor": None}),
        **problem_responses(400, 401, 403, 422),
    },
)
def list_groups(
    session: SessionDep,
    _key: ReadKey,
    run_id: CurrentRunId,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> GroupPage:
    items, next_cursor = results.groups(session, run_id, limit, cursor)
    return GroupPage(items=items, next_cursor=next_cursor, accounts=results.names(session, items))


@router.get(
    "/groups/{group_id}",
    summary="One lockstep group",
    description="Members, cohesion, the waves and targets the group struck.",
    response_model=NamedGroup,
    response_model_exclude_unset=True,
    responses={200: json_example(DEMO["group"]), **problem_responses(401, 403, 404)},
)
def get_group(
    group_id: Annotated[str, GROUP_ID],
    session: SessionDep,
    _key: ReadKey,
    run_id: CurrentRunId,
) -> NamedGroup:
    found = results.group(session, run_id, group_id)
    if found is None:
        raise Problem(404, f"No group {group_id} in the latest analysis.", "not-found")
    return with_names(NamedGroup, found, session)


@router.get(
    "/accounts/{account_id}/risk",
    summary="An account's risk",
    description="Tier, reporter risk (takes part in orchestrated reporting), target risk (is "
    "being hit by it), lockstep groups, reliability and re-creation link. 404 if the account "
    "was never seen in any ingested data.",
    response_model=NamedAccountRisk,
    response_model_exclude_unset=True,
    responses={
        200: {"content": {"application/json": {"example": DEMO["target_risk"]}}},
        **problem_responses(401, 403, 404),
    },
)
def account_risk(
    account_id: Annotated[str, ACCOUNT_ID],
    session: SessionDep,
    _key: ReadKey,
    run_id: CurrentRunId,
) -> NamedAccountRisk:
    account_id = decoded_segment(account_id, ACCOUNT_ID_LENGTH)
    found = results.account_risk(session, run_id, account_id)
    if found is None:
        raise Problem(404, f"Account {account_id} was never seen.", "not-found")
    return with_names(NamedAccountRisk, found, session)


@router.get(
    "/accounts",
    summary="Find accounts",
    description="Accounts whose id is `q`, whose handle starts with `q` (a leading `@` is "
    "ignored, case does not matter) or whose display name contains it: the exact id first, "
    "then handles, then names, each alphabetically. For a search box; ids, handles and "
    "names as last ingested.",
    response_model=AccountMatches,
    responses={
        200: json_example(
            {
                "items": [
                    {
                        "account_id": DEMO["account"]["account_id"],
                        "handle": DEMO["account"]["handle"],
                        "display_name": DEMO["account"]["display_name"],
                    }
                ]
            }
        ),
        **problem_responses(401, 403, 422),
    },
)
def find_accounts(
    session: SessionDep,
    _key: ReadKey,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=128,
            pattern=NO_NUL,
            description="An account id, the start of a handle, or part of a display name.",
            examples=[DEMO["account"]["handle"]],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100, description="Most matches to return.")] = 20,
) -> AccountMatches:
    return AccountMatches(
        items=[AccountMatch(**match) for match in results.find_accounts(session, q, limit)]
    )


ACCOUNT_EXAMPLE: dict[str, Any] = DEMO["account"]


@router.get(
    "/accounts/{account_id}",
    summary="An account's metadata",
    description="The account as last ingested (handle, display name, labels, status). "
    "404 if no account record was ever sent for it; its risk may still exist, see "
    "`GET /v1/accounts/{account_id}/risk`.",
    response_model=AccountRecord,
    response_model_exclude_unset=True,
    responses={
        200: {"content": {"application/json": {"example": ACCOUNT_EXAMPLE}}},
        **problem_responses(401, 403, 404),
    },
)
def account_metadata(
    account_id: Annotated[str, ACCOUNT_ID], session: SessionDep, _key: ReadKey
) -> AccountRecord:
    account_id = decoded_segment(account_id, ACCOUNT_ID_LENGTH)
    found = results.account_record(session, account_id)
    if found is None:
        raise Problem(404, f"No account record for {account_id}.", "not-found")
    return found


@router.post(
    "/accounts/risk",
    summary="Risk of many accounts",
    description="Up to 1,000 account ids; unknown ids come back with a null tier and zero risks.",
    response_model=RiskItems,
    response_model_exclude_unset=True,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"items": [DEMO["target_risk"], DEMO["reporter_risk"]]}
                }
            }
        },
        **problem_responses(401, 403, 422),
    },
)
def account_risk_batch(
    body: RiskBatch, session: SessionDep, _key: ReadKey, run_id: CurrentRunId
) -> Response:
    # The documents as stored are already what ``RiskItems`` sends.
    answer = results.account_risks_json(session, run_id, body.account_ids)
    return Response(orjson.dumps(answer), media_type="application/json")


@router.get(
    "/network/tiers",
    summary="The three tiers and the hubs",
    description="The supporter network of the latest analysis: tier 1 (official accounts) "
    "and tier 2 (supporting institutions) in full, most amplified first; the size of tier 3 "
    "(supporters) with a sample of its most certain members; and each hub (a tier-2 account) "
    "with the supporters gathered around it, largest first. Each account's own tier, "
    "confidence and reasons are in its risk (`GET /v1/accounts/{account_id}/risk`).",
    response_model=NamedNetwork,
    response_model_exclude_unset=True,
    responses={
        200: {"content": {"application/json": {"example": NETWORK_EXAMPLE}}},
        **problem_responses(401, 403),
    },
)
def network_tiers(session: SessionDep, _key: ReadKey, run_id: CurrentRunId) -> NamedNetwork:
    found = results.network(session, run_id)
    return with_names(NamedNetwork, found, session)


@router.get(
    "/targets",
    summary="Accounts under orchestrated attack",
    description="Accounts with the highest `target_risk`: who is being brigaded.",
    response_model=TargetPage,
    response_model_exclude_unset=True,
    responses={
        200: json_example({"items": [DEMO["target_risk"]], "next_cursor": None}),
        **problem_responses(400, 401, 403, 422),
    },
)
def list_targets(
    session: SessionDep,
    _key: ReadKey,
    run_id: CurrentRunId,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> TargetPage:
    items, next_cursor = results.targets(session, run_id, limit, cursor)
    return TargetPage(items=items, next_cursor=next_cursor, accounts=results.names(session, items))


@router.post(
    "/enforcement/check",
    summary="Proceed or hold before suspending",
    description="What an automated suspension pipeline asks before acting on a mass-reported "
    "account: `hold_for_review` when its recent reports are dominated by orchestrated waves "
    "or accounts that took part in orchestrated waves elsewhere struck it in a burst "
    "(`target_risk` >= 0.5), `proceed` otherwise, with the reasons. With `content_id`, the "
    "answer is about that content item when recent waves name it (`content_risk`). More "
    "reports from accounts with no part in orchestrated waves never turn a hold into proceed.",
    response_model=EnforcementAnswer,
    responses={
        200: {"content": {"application/json": {"example": DEMO["enforcement"]}}},
        **problem_responses(401, 403, 422),
    },
)
async def enforcement_check(
    body: EnforcementQuery, context: ContextDep, _key: ReadKey
) -> EnforcementAnswer:
    # On the event loop, not the thread pool: answered from memory (or two indexed
    # reads, about a millisecond), an automated pipeline's burst of checks queues
    # cheaply here instead of crowding threads that compete for connections and the GIL.
    return enforcement.check(
        context.db.engine.connect,
        context.current_run,
        context.check_index,
        body.target_id,
        body.content_id,
    )
