"""The documents the detector publishes, as clients receive them: waves, lockstep
groups, account risk, the supporter network, the enforcement answer. ``shapes.shape()``
builds them (``Documents``), the service stores, loads and serves them, the fast path
and webhooks work on them, and the API declares them as its response models, so the
OpenAPI document (and any client generated from it) shows every field. Fields added
after 0.1.0 have defaults: results stored by older versions are served as they are.
Stored and sent as JSON with ``exclude_unset``: a field the detector did not fill (the
listing a tier does not have) is left out rather than sent as null."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Action = Literal["proceed", "hold_for_review"]


class Directive(BaseModel):
    """The post by which an account named a wave's target just before the wave."""

    post_id: str
    created_at: str
    text: str | None = Field(
        default=None, description="The post's text (in `GET /v1/waves/{wave_id}` only)."
    )


class Orchestrator(BaseModel):
    account_id: str
    score: float = Field(
        description="Share of the wave's reporters who follow or amplify the account."
    )
    inferred: bool = Field(
        description="True when no directive post names the target and the attribution "
        "comes from the crowd's shared followings alone."
    )
    directive: Directive | None = Field(
        default=None, description="Its first post naming the target (null when inferred)."
    )


class Arrivals(BaseModel):
    bucket_s: int = Field(description="Width of each bucket in seconds.")
    counts: list[int] = Field(description="Reports arriving in each bucket, from the start.")


class WaveReporter(BaseModel):
    account_id: str
    reporter_risk: float


class SignalInfo(BaseModel):
    """What one of a wave's signals measures, and its value in a typical organic wave."""

    name: str
    definition: str
    organic_median: float = Field(
        description="The signal's median over organic waves of the wave model's training "
        "worlds: the reference a wave's value is read against."
    )


class WaveSummary(BaseModel):
    """A burst of reports on one target (or one of its content items), as listed."""

    wave_id: str
    target_id: str
    content_id: str | None = None
    start: str
    end: str
    report_count: int
    reporter_count: int
    score: float = Field(description="Calibrated probability that the wave is orchestrated.")
    label: Literal["orchestrated", "organic"]
    status: Literal["active", "closed"]
    provisional: bool = Field(
        description="Found by the fast path since the latest full run; the next run decides."
    )
    signals: dict[str, float] = Field(
        description="Named measures of the crowd; each is defined in `GET /v1/signals`, "
        "with its value in a typical organic wave."
    )
    contributions: dict[str, float] = Field(
        default_factory=dict,
        description="How far each signal moved the score, in log-odds: positive toward "
        "orchestrated, negative toward organic (the wave model's view; a wave judged by "
        "its coordinated core says so in `explanations`).",
    )
    explanations: list[str]
    orchestrators: list[Orchestrator]
    group_ids: list[str]
    top_reasons: dict[str, int]
    arrivals: Arrivals


class Wave(WaveSummary):
    """A wave with every reporter in it."""

    reporters: list[WaveReporter]
    sample_texts: list[str] = Field(
        default_factory=list,
        description="Up to five of the reports' own texts in the wave's span, most repeated "
        "first: the same words filed again and again are a sign of a pasted order (in "
        "`GET /v1/waves/{wave_id}`, read from the stored reports).",
    )


class Group(BaseModel):
    """Accounts that report the same targets together again and again."""

    group_id: str
    size: int
    members: list[str]
    cohesion: float
    wave_ids: list[str]
    target_ids: list[str]
    tier_counts: dict[str, int] = Field(description='Members per tier ("1", "2", "3").')


class Reliability(BaseModel):
    reports: int
    upheld: int
    unfounded: int
    score: float = Field(description="Share of decided reports upheld, smoothed.")


class DirectedWave(BaseModel):
    wave_id: str
    target_id: str
    start: str
    score: float = Field(description="The wave's score.")
    attribution: float = Field(description="Its `orchestrators` score in that wave.")
    inferred: bool


class AccountRisk(BaseModel):
    """What the latest analysis says of one account."""

    account_id: str
    tier: Literal[1, 2, 3] | None
    tier_label: str | None
    tier_confidence: float
    tier_evidence: list[str] = Field(default_factory=list)
    reporter_risk: float
    target_risk: float
    core_risk: float = 0.0
    group_ids: list[str]
    reliability: Reliability
    recreated_from: str | None
    explanations: list[str]
    content_risk: dict[str, float] = Field(
        default_factory=dict, description="`target_risk` of its most reported content items."
    )
    reports_received: int = 0
    orchestrator_risk: float = Field(
        default=0.0,
        description="This account directs orchestrated reporting: the highest, over the "
        "orchestrated waves whose target it named just before they began, of the wave's "
        "score times the share of the wave's reporters in its audience. Shared followings "
        "alone (an inferred attribution) do not count: they are not its own conduct.",
    )
    waves_directed: list[DirectedWave] = Field(
        default_factory=list,
        description="The orchestrated waves it is listed as directing, newest first.",
    )
    updated_at: str | None


class AccountName(BaseModel):
    """How a person recognises an account: its handle and display name as last ingested."""

    handle: str | None
    display_name: str | None


class AccountRecord(BaseModel):
    """An account as last ingested."""

    account_id: str
    handle: str | None
    display_name: str | None
    created_at: str | None
    followers_count: int | None
    following_count: int | None
    verified: bool | None
    labels: list[str] | None
    status: str | None
    status_changed_at: str | None
    updated_at: str | None


class TierListing(BaseModel):
    label: str
    count: int
    accounts: list[str] | None = Field(default=None, description="Every member (tiers 1 and 2).")
    sample: list[str] | None = Field(default=None, description="Some members (tier 3).")


class Hub(BaseModel):
    account_id: str
    member_count: int
    members: list[str]


class Tie(BaseModel):
    """Two drawn accounts tied in the data, in either direction: one follows or
    amplifies the other (``source`` and ``target`` name the pair, not a direction)."""

    source: str
    target: str
    kind: str = Field(description="The strongest tie: retweet, quote, like, then follow.")


class Network(BaseModel):
    """The three tiers and the hubs."""

    tiers: dict[str, TierListing]
    hubs: list[Hub]
    ties: list[Tie] = Field(
        default_factory=list,
        description="Ties among the accounts worth drawing (tiers 1 and 2, some of each "
        "hub's supporters, the tier-3 sample), those with a tier-1 or tier-2 end first; "
        "bounded, for a picture, not a census.",
    )
    updated_at: str | None


class EnforcementAnswer(BaseModel):
    """Proceed with a suspension, or hold it for a person to review."""

    action: Action
    target_risk: float
    content_risk: float | None = Field(
        default=None,
        description="When `content_id` was asked about and recent waves name it: the same "
        "share over those reports; the action then follows it, or the account's core "
        "evidence (`core_risk` of the account) when that is higher.",
    )
    wave_id: str | None
    reasons: list[str]


class AnalyzeResult(BaseModel):
    """What ``POST /v1/analyze`` answers: the documents of the entities sent."""

    waves: list[Wave]
    groups: list[Group]
    accounts: list[AccountRisk]
    network: Network


class Documents(AnalyzeResult):
    """Everything ``shape()`` makes of an analysis: what a run stores and serves, and
    the enforcement answer of every reported account."""

    enforcement: dict[str, Action]

    def as_json(self) -> dict[str, Any]:
        """The documents as JSON values, as stored and written to files."""
        return as_json(self)


def as_json(document: BaseModel) -> dict[str, Any]:
    """One document as stored and sent (fields the detector did not fill left out)."""
    return document.model_dump(mode="json", exclude_unset=True)
