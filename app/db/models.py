"""Tables of the service. Alembic migrations create them; these models describe them.

Timestamps are stored as UTC. Ids are the clients' own strings; reports also get a
monotonic integer ``seq`` so analysis can read "everything after the last run" cheaply.

On PostgreSQL ``reports`` and ``posts`` are partitioned by month of ``created_at``
(see app.db.partitions): their primary keys there also hold ``created_at``, and the
business keys are kept unique by the guard tables ``report_keys`` and ``post_keys``.
Schema items that exist on one dialect only say so in their ``info`` (``exists_on``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.schema import SchemaItem
from sqlalchemy.types import TypeEngine

ID_LENGTH = 128

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every dialect.

    PostgreSQL stores ``timestamptz``. SQLite has no time type: there the value is an
    integer of microseconds since the epoch, which sorts correctly and keeps the
    (id, time) indices small, so bulk ingest writes fewer pages.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime cannot be stored")
        return sqlite_micros(value) if dialect.name == "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return EPOCH + timedelta(microseconds=value)
        return value.astimezone(UTC)  # type: ignore[no-any-return]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sqlite_micros(value: datetime) -> int:
    """A timestamp as SQLite stores it: whole microseconds since the epoch, UTC."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# JSONB on PostgreSQL so values can be compared when deciding whether an upsert changes
# anything; a Python None is stored as SQL NULL so COALESCE keeps the stored value.
Labels = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


ONLY_SQLITE = {"dialect": "sqlite"}
ONLY_POSTGRESQL = {"dialect": "postgresql"}


def exists_on(item: SchemaItem, dialect: str) -> bool:
    """Whether the migrations create ``item`` on ``dialect`` (most items: everywhere)."""
    return bool(item.info.get("dialect", dialect) == dialect)


def tables_on(dialect: str) -> list[Table]:
    """The tables the migrations create on ``dialect``, in dependency order."""
    return [table for table in Base.metadata.sorted_tables if exists_on(table, dialect)]


class Report(Base):
    """One report/flag event filed by ``reporter_id`` against ``target_id``."""

    __tablename__ = "reports"

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    reporter_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    content_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    text: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[datetime]

    __table_args__ = (
        # PostgreSQL keeps event_id unique in report_keys: a partitioned table's unique
        # constraints must hold the partition key.
        UniqueConstraint("event_id", info=ONLY_SQLITE),
        Index("ix_reports_target_created", "target_id", "created_at"),
        Index("ix_reports_reporter_created", "reporter_id", "created_at"),
    )


class ReportKey(Base):
    """PostgreSQL: the event ids of all stored reports, whatever their month. Ingest
    claims an id here first; only a claimed report is inserted."""

    __tablename__ = "report_keys"
    __table_args__ = ({"info": ONLY_POSTGRESQL},)

    event_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class Account(Base):
    """Account metadata; upserted by ``account_id``."""

    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    handle: Mapped[str | None] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime | None]
    followers_count: Mapped[int | None] = mapped_column(BigInteger)
    following_count: Mapped[int | None] = mapped_column(BigInteger)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    labels: Mapped[list[str] | None] = mapped_column(Labels)
    status: Mapped[str | None] = mapped_column(String(16))
    status_changed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    # Each upserted kind is indexed by its change time: an analysis run reads only the
    # rows changed since the last (migration 0013).
    __table_args__ = (Index("ix_accounts_updated_at", "updated_at"),)


class Edge(Base):
    """A directed interaction ``src -> dst`` of one kind; ``weight`` is set, not added."""

    __tablename__ = "edges"

    src: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    dst: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    weight: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_edges_dst_kind", "dst", "kind"),
        Index("ix_edges_updated_at", "updated_at"),
        # SQLite keeps the rows in key order, the order a full analysis reads them in
        # (migration 0012).
        {"sqlite_with_rowid": False},
    )


class Post(Base):
    """A post; its mentions and hashtags live in their own tables."""

    __tablename__ = "posts"

    post_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    author_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)
    reshare_of: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    reply_to: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_posts_author_created", "author_id", "created_at"),
        Index("ix_posts_reshare_of", "reshare_of"),
        Index("ix_posts_updated_at", "updated_at"),
    )


class PostKey(Base):
    """PostgreSQL: each stored post's id and its time, i.e. the partition it lives in.
    Writers of a post lock its row here first, so a post whose time changed is moved
    exactly once."""

    __tablename__ = "post_keys"

    post_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_post_keys_created_at", "created_at"),
        {"info": ONLY_POSTGRESQL},
    )


class PostMention(Base):
    __tablename__ = "post_mentions"

    post_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)

    __table_args__ = (Index("ix_post_mentions_account", "account_id"),)


class PostHashtag(Base):
    __tablename__ = "post_hashtags"

    post_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    hashtag: Mapped[str] = mapped_column(String(280), primary_key=True)

    __table_args__ = (Index("ix_post_hashtags_hashtag", "hashtag"),)


class Decision(Base):
    """A moderator's verdict on a target (or one of its contents)."""

    __tablename__ = "decisions"

    decision_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    outcome: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime]
    content_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_decisions_target_decided", "target_id", "decided_at"),
        Index("ix_decisions_updated_at", "updated_at"),
    )


class ApiKey(Base):
    """An API key. Only a SHA-256 digest of the secret is kept."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    lookup: Mapped[str] = mapped_column(String(16), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AnalysisRun(Base):
    """One full analysis run: queued, running, then succeeded or failed."""

    __tablename__ = "analysis_runs"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    # DetectionParams.record of the run: its settings and the digests of its models.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Raised by each fast-path update of the run's results (``AnalysisChange``).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Every process looks up the newest succeeded run several times a second.
    __table_args__ = (Index("ix_analysis_runs_status_finished", "status", "finished_at"),)


class AnalysisWave(Base):
    """A wave found by one analysis run; the API shows the newest succeeded run's."""

    __tablename__ = "analysis_waves"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wave_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_analysis_waves_run_target", "run_id", "target_id"),
        Index("ix_analysis_waves_run_start", "run_id", "start"),
    )


class AnalysisGroup(Base):
    __tablename__ = "analysis_groups"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    size: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class AnalysisAccount(Base):
    """An account's risk as of one analysis run."""

    __tablename__ = "analysis_accounts"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    reporter_risk: Mapped[float] = mapped_column(Float)
    target_risk: Mapped[float] = mapped_column(Float)
    tier: Mapped[int | None] = mapped_column(SmallInteger)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_analysis_accounts_run_target_risk", "run_id", "target_risk"),)


class AnalysisChange(Base):
    """A target whose results the fast path rewrote in a published run, and the run's
    revision that did it: what the enforcement check's in-memory index reads again."""

    __tablename__ = "analysis_changes"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class AnalysisNetwork(Base):
    """The supporter network one analysis run found: tier listings and hubs."""

    __tablename__ = "analysis_networks"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class Deletion(Base):
    """How many times rows of an entity kind were deleted (retention): an analysing
    process that keeps a copy of the stored entities reads a kind whole again when its
    number moved (migration 0013)."""

    __tablename__ = "deletions"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class Lease(Base):
    """A named lease that one process holds at a time (the analysis runner's)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class Integration(Base):
    """A moderation stack that pushes its reports here: ``kind`` ``mastodon`` is a
    Mastodon server (``domain``) whose admin webhook signs each delivery with ``secret``
    (kept as given: checking a signature needs it; never returned after creation)."""

    __tablename__ = "integrations"

    integration_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    domain: Mapped[str] = mapped_column(String(253))
    secret: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]


class AtprotoLabel(Base):
    """An AT Protocol label this service published, signed: the newest one per labeler
    (``src``), subject and value (a withdrawn label is replaced by its negation,
    ``neg``), numbered by ``seq`` so a client can read on from where it stopped (never
    reused, on SQLite too). ``signer`` is the public key that signed it, so a label
    signed by a key since replaced is signed again."""

    __tablename__ = "atproto_labels"

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    src: Mapped[str] = mapped_column(String(ID_LENGTH))
    uri: Mapped[str] = mapped_column(String(ID_LENGTH))
    val: Mapped[str] = mapped_column(String(128))
    neg: Mapped[bool] = mapped_column(Boolean)
    cts: Mapped[str] = mapped_column(String(32))
    sig: Mapped[bytes] = mapped_column(LargeBinary)
    signer: Mapped[str] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("src", "uri", "val"), {"sqlite_autoincrement": True})


class Webhook(Base):
    """A subscription: wave events are POSTed to ``url``, signed with ``secret``.

    The secret is kept as given: signing needs it (it is never returned after creation).
    """

    __tablename__ = "webhooks"

    webhook_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one subscription: pending until delivered, or ``dead`` (the
    dead-letter record) once every attempt failed."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(40), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(32))
    wave_id: Mapped[str] = mapped_column(String(48))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhook_deliveries_status_due", "status", "next_attempt_at"),)


class WaveAlert(Base):
    """An orchestrated wave as last announced to subscribers, so a wave is announced
    once (``wave.detected``) and later only when it changed (``wave.updated``), whether
    the fast path or a full run saw it."""

    __tablename__ = "wave_alerts"

    alert_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    wave_id: Mapped[str] = mapped_column(String(48))
    start: Mapped[datetime]
    end: Mapped[datetime]
    report_count: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    announced_at: Mapped[datetime]


class AuditEvent(Base):
    """An administrative action: who (key id), what, on what, when."""

    __tablename__ = "audit_events"

    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
