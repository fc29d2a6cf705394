"""Queries on analysis runs, their results and the runner's lease.

A run writes its waves, groups and account risks under its own ``run_id`` and then
marks itself succeeded, in one transaction: readers, who always read the newest
succeeded run, see either all of a run's results or none of them. Results go in and
come out as the detector's documents (``app.detection.documents``), stored as JSON
beside the columns readers filter and sort on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    and_,
    delete,
    desc,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db.engine import in_chunks
from app.db.models import (
    Account,
    AnalysisAccount,
    AnalysisChange,
    AnalysisGroup,
    AnalysisNetwork,
    AnalysisRun,
    AnalysisWave,
    Lease,
    Post,
    Report,
)
from app.detection.documents import (
    AccountRisk,
    Documents,
    Group,
    Network,
    Wave,
    WaveSummary,
    as_json,
)

SUCCEEDED = "succeeded"


def create_run(
    session: Session, run_id: str, now: datetime, stats: dict[str, Any] | None = None
) -> AnalysisRun:
    run = AnalysisRun(run_id=run_id, status="queued", created_at=now, stats=stats or {})
    session.add(run)
    session.flush()
    return run


def queue_run_row(conn: Connection, run_id: str, now: datetime) -> None:
    conn.execute(
        insert(AnalysisRun).values(run_id=run_id, status="queued", created_at=now, stats={})
    )


def get_run(session: Session, run_id: str) -> AnalysisRun | None:
    return session.get(AnalysisRun, run_id)


def latest_run(session: Session) -> AnalysisRun | None:
    query = select(AnalysisRun).order_by(desc(AnalysisRun.created_at), desc(AnalysisRun.run_id))
    return session.scalars(query.limit(1)).first()


def _newest_succeeded(*columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .where(AnalysisRun.status == SUCCEEDED)
        .order_by(desc(AnalysisRun.finished_at), desc(AnalysisRun.run_id))
        .limit(1)
    )


def current_run_id(session: Session | Connection) -> str | None:
    """The newest run that succeeded: the one whose results the API shows."""
    return session.scalars(_newest_succeeded(AnalysisRun.run_id)).first()


def current_run_revision(conn: Connection) -> tuple[str, int] | None:
    """The current run and how many fast-path updates its results have had."""
    row = conn.execute(_newest_succeeded(AnalysisRun.run_id, AnalysisRun.revision)).first()
    return (row[0], row[1]) if row else None


def mark(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(update(AnalysisRun).where(AnalysisRun.run_id == run_id).values(**values))


def wave_columns(wave: WaveSummary) -> dict[str, Any]:
    """The fields of a wave document that tables keep as columns (to filter, sort and
    compare on)."""
    return {
        "wave_id": wave.wave_id,
        "target_id": wave.target_id,
        "start": parse_time(wave.start),
        "end": parse_time(wave.end),
        "score": wave.score,
        "label": wave.label,
        "status": wave.status,
    }


def wave_row(run_id: str, wave: Wave) -> dict[str, Any]:
    """A wave document as its row: the columns readers filter and sort on, and itself."""
    return {"run_id": run_id, **wave_columns(wave), "document": as_json(wave)}


def store_results(conn: Connection, run_id: str, documents: Documents) -> None:
    """Insert a run's results (called inside the transaction that marks it succeeded)."""
    waves = [wave_row(run_id, w) for w in documents.waves]
    groups = [
        {"run_id": run_id, "group_id": g.group_id, "size": g.size, "document": as_json(g)}
        for g in documents.groups
    ]
    network = [{"run_id": run_id, "document": as_json(documents.network)}]
    for model, rows in ((AnalysisWave, waves), (AnalysisGroup, groups), (AnalysisNetwork, network)):
        for start in range(0, len(rows), 5_000):
            conn.execute(insert(model), rows[start : start + 5_000])
    _insert_account_documents(conn, run_id, documents.accounts)


ACCOUNT_COLUMNS = ("run_id", "account_id", "reporter_risk", "target_risk", "tier", "document")


def _insert_account_documents(
    conn: Connection, run_id: str, accounts: Sequence[AccountRisk]
) -> None:
    """A run's account documents, one row each: the most rows a run writes (one per
    account it saw). Each document is serialised to JSON text by pydantic in one call
    and handed to the driver as it is (COPY on PostgreSQL), not turned into Python
    values and serialised again row by row."""
    rows = [
        (
            run_id,
            a.account_id,
            a.reporter_risk,
            a.target_risk,
            a.tier,
            a.model_dump_json(exclude_unset=True),
        )
        for a in accounts
    ]
    table = AnalysisAccount.__tablename__
    columns = ", ".join(ACCOUNT_COLUMNS)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(ACCOUNT_COLUMNS))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def replace_in_run(
    conn: Connection,
    run_id: str,
    waves: Sequence[Wave],
    superseded: Sequence[str],
    accounts: Sequence[AccountRisk],
) -> None:
    """Put waves and account documents into a published run (the fast path's updates):
    the ``superseded`` waves go, the given waves and accounts replace their namesakes.
    The run's revision goes up by one, and the targets touched are recorded under it
    (``changed_targets``)."""
    wave_ids = sorted({*superseded, *(w.wave_id for w in waves)})
    account_ids = [a.account_id for a in accounts]
    touched = set(
        conn.scalars(
            select(AnalysisWave.target_id).where(
                AnalysisWave.run_id == run_id, AnalysisWave.wave_id.in_(wave_ids)
            )
        )
    )
    touched |= {*(w.target_id for w in waves), *account_ids}
    conn.execute(
        delete(AnalysisWave).where(
            AnalysisWave.run_id == run_id, AnalysisWave.wave_id.in_(wave_ids)
        )
    )
    conn.execute(
        delete(AnalysisAccount).where(
            AnalysisAccount.run_id == run_id, AnalysisAccount.account_id.in_(account_ids)
        )
    )
    if waves:
        conn.execute(insert(AnalysisWave), [wave_row(run_id, w) for w in waves])
    if accounts:
        _insert_account_documents(conn, run_id, accounts)
    if not touched:
        return
    conn.execute(
        update(AnalysisRun)
        .where(AnalysisRun.run_id == run_id)
        .values(revision=AnalysisRun.revision + 1)
    )
    revision = conn.scalar(select(AnalysisRun.revision).where(AnalysisRun.run_id == run_id))
    conn.execute(
        insert(AnalysisChange),
        [{"run_id": run_id, "revision": revision, "target_id": t} for t in sorted(touched)],
    )


def changed_targets(conn: Connection, run_id: str, after: int) -> set[str]:
    """The targets the fast path rewrote in ``run_id`` since its revision ``after``."""
    query = select(AnalysisChange.target_id).where(
        AnalysisChange.run_id == run_id, AnalysisChange.revision > after
    )
    return set(conn.scalars(query))


def drop_results_except(conn: Connection, keep: Sequence[str]) -> None:
    for model in (AnalysisWave, AnalysisGroup, AnalysisAccount, AnalysisNetwork, AnalysisChange):
        conn.execute(delete(model).where(model.run_id.not_in(list(keep))))


def previous_succeeded(conn: Connection, limit: int) -> list[str]:
    query = (
        select(AnalysisRun.run_id)
        .where(AnalysisRun.status == SUCCEEDED)
        .order_by(desc(AnalysisRun.finished_at))
        .limit(limit)
    )
    return list(conn.scalars(query))


def parse_time(value: str) -> datetime:
    """An RFC 3339 time of a result document."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ----------------------------------------------------------------- reading
def _keyset(query: Select[Any], value: Any, key: Any, after: tuple[Any, Any] | None) -> Any:
    """``query`` ordered by ``value`` descending then ``key``, from after the position
    ``after`` (a page's last ``(value, key)``)."""
    if after is not None:
        last_value, last_key = after
        query = query.where(or_(value < last_value, and_(value == last_value, key > last_key)))
    return query.order_by(desc(value), key)


@dataclass(frozen=True, kw_only=True)
class WaveFilter:
    """Which waves a listing shows (None: any). ``wave_ids``: only these (an
    orchestrator's directed waves)."""

    target_id: str | None = None
    label: str | None = None
    status: str | None = None
    min_score: float | None = None
    since: datetime | None = None
    until: datetime | None = None
    wave_ids: Sequence[str] | None = None


def waves_page(
    session: Session,
    run_id: str,
    limit: int,
    after: tuple[datetime, str] | None,
    only: WaveFilter,
) -> list[WaveSummary]:
    """Waves of a run, newest first, after the cursor position ``after`` (without
    their reporters: a listing does not show them)."""
    query = select(AnalysisWave.document).where(AnalysisWave.run_id == run_id)
    if only.target_id is not None:
        query = query.where(AnalysisWave.target_id == only.target_id)
    if only.label is not None:
        query = query.where(AnalysisWave.label == only.label)
    if only.status is not None:
        query = query.where(AnalysisWave.status == only.status)
    if only.min_score is not None:
        query = query.where(AnalysisWave.score >= only.min_score)
    if only.since is not None:
        query = query.where(AnalysisWave.end >= only.since)
    if only.until is not None:
        query = query.where(AnalysisWave.start <= only.until)
    if only.wave_ids is not None:
        query = query.where(AnalysisWave.wave_id.in_(list(only.wave_ids)))
    query = _keyset(query, AnalysisWave.start, AnalysisWave.wave_id, after).limit(limit)
    return [WaveSummary.model_validate(d) for d in session.scalars(query)]


def wave(session: Session, run_id: str, wave_id: str) -> Wave | None:
    row = session.get(AnalysisWave, (run_id, wave_id))
    return Wave.model_validate(row.document) if row else None


class WaveBrief(NamedTuple):
    """What an enforcement answer reads of a wave: a few fields of its document, read
    without the rest (a wave's document lists its reporters)."""

    wave_id: str
    content_id: str | None
    report_count: int
    score: float
    explanations: list[str]


# Latest waves an enforcement answer reads of a target.
WAVES_PER_CHECK = 50
_BRIEF = (
    AnalysisWave.wave_id,
    AnalysisWave.document["content_id"].as_string(),
    AnalysisWave.document["report_count"].as_integer(),
    AnalysisWave.score,
    AnalysisWave.document["explanations"],
)
# Orchestrated first, then the newest; waves that end together by id, so the index and
# the database agree on the latest.
_LATEST_FIRST = (
    desc(AnalysisWave.label == "orchestrated"),
    desc(AnalysisWave.end),
    desc(AnalysisWave.wave_id),
)


def latest_waves_of(session: Session | Connection, run_id: str, target_id: str) -> list[WaveBrief]:
    """A target's latest waves, orchestrated ones first, then the newest first."""
    query = (
        select(*_BRIEF)
        .where(AnalysisWave.run_id == run_id, AnalysisWave.target_id == target_id)
        .order_by(*_LATEST_FIRST)
        .limit(WAVES_PER_CHECK)
    )
    return [WaveBrief(*row) for row in session.execute(query)]


def waves_of_targets(
    conn: Connection, run_id: str, target_ids: Sequence[str]
) -> dict[str, list[WaveSummary]]:
    """Every wave of a run on each of ``target_ids`` (without reporters)."""
    query = select(AnalysisWave.document).where(
        AnalysisWave.run_id == run_id, AnalysisWave.target_id.in_(list(target_ids))
    )
    found: dict[str, list[WaveSummary]] = {}
    for document in conn.scalars(query):
        wave = WaveSummary.model_validate(document)
        found.setdefault(wave.target_id, []).append(wave)
    return found


def _latest_first(rows: Sequence[Any]) -> list[WaveBrief]:
    """Waves (rows of label, end and brief) as ``latest_waves_of`` orders them."""
    ordered = sorted(rows, key=lambda row: (row[1], row[2]), reverse=True)
    ordered.sort(key=lambda row: row[0] != "orchestrated")
    return [WaveBrief(*row[2:]) for row in ordered[:WAVES_PER_CHECK]]


class RiskBrief(NamedTuple):
    """What an enforcement answer reads of an account's document, read without the
    rest (its explanations, tiers and group ids)."""

    target_risk: float
    core_risk: float
    content_risk: dict[str, float]


_RISK_BRIEF = (
    AnalysisAccount.account_id,
    AnalysisAccount.target_risk,
    AnalysisAccount.document["core_risk"].as_float(),
    AnalysisAccount.document["content_risk"],
)


def _risk_brief(row: Any) -> RiskBrief:
    return RiskBrief(row[1], row[2] or 0.0, row[3] or {})


def risk_briefs(conn: Connection, run_id: str, account_ids: Sequence[str]) -> dict[str, RiskBrief]:
    """The risk briefs of ``account_ids`` that the run has documents for."""
    found: dict[str, RiskBrief] = {}
    for chunk in in_chunks(account_ids):
        query = select(*_RISK_BRIEF).where(
            AnalysisAccount.run_id == run_id, AnalysisAccount.account_id.in_(chunk)
        )
        found.update((row[0], _risk_brief(row)) for row in conn.execute(query))
    return found


def standings(
    conn: Connection, run_id: str, targets: Sequence[str] | None = None
) -> dict[str, tuple[RiskBrief | None, list[WaveBrief]]]:
    """What an enforcement answer reads of each target: its account's risk brief and
    its latest waves, for ``targets`` or for every account of the run with a wave or a
    target risk."""
    waves_query = select(
        AnalysisWave.target_id, AnalysisWave.label, AnalysisWave.end, *_BRIEF
    ).where(AnalysisWave.run_id == run_id)
    wave_rows: dict[str, list[Any]] = {}
    risks: dict[str, RiskBrief] = {}
    if targets is None:
        for target_id, *row in conn.execute(waves_query):
            wave_rows.setdefault(target_id, []).append(row)
        risky = select(*_RISK_BRIEF).where(
            AnalysisAccount.run_id == run_id, AnalysisAccount.target_risk > 0
        )
        risks.update((row[0], _risk_brief(row)) for row in conn.execute(risky))
    else:
        for chunk in in_chunks(sorted(set(targets))):
            in_chunk = waves_query.where(AnalysisWave.target_id.in_(chunk))
            for target_id, *row in conn.execute(in_chunk):
                wave_rows.setdefault(target_id, []).append(row)
    wanted = set(targets) if targets is not None else set(wave_rows) - set(risks)
    risks.update(risk_briefs(conn, run_id, sorted(wanted)))
    return {
        target_id: (risks.get(target_id), _latest_first(wave_rows.get(target_id, [])))
        for target_id in set(risks) | set(wave_rows)
    }


def groups_page(
    session: Session, run_id: str, limit: int, after: tuple[int, str] | None
) -> list[Group]:
    query = select(AnalysisGroup.document).where(AnalysisGroup.run_id == run_id)
    query = _keyset(query, AnalysisGroup.size, AnalysisGroup.group_id, after).limit(limit)
    return [Group.model_validate(d) for d in session.scalars(query)]


def group(session: Session, run_id: str, group_id: str) -> Group | None:
    row = session.get(AnalysisGroup, (run_id, group_id))
    return Group.model_validate(row.document) if row else None


def account_risks(
    session: Session | Connection, run_id: str, account_ids: Sequence[str]
) -> dict[str, AccountRisk]:
    """The run's documents of ``account_ids``, as models."""
    found = account_risk_documents(session, run_id, account_ids)
    return {account_id: AccountRisk.model_validate(d) for account_id, d in found.items()}


def account_risk_documents(
    session: Session | Connection, run_id: str, account_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The run's stored documents of ``account_ids``, as the JSON they are kept as."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in in_chunks(sorted(set(account_ids))):
        query = select(AnalysisAccount.account_id, AnalysisAccount.document).where(
            AnalysisAccount.run_id == run_id, AnalysisAccount.account_id.in_(chunk)
        )
        found.update((a, d) for a, d in session.execute(query))
    return found


def network(session: Session, run_id: str) -> Network | None:
    row = session.get(AnalysisNetwork, run_id)
    return Network.model_validate(row.document) if row else None


def targets_page(
    session: Session,
    run_id: str,
    limit: int,
    after: tuple[float, str] | None,
    hold_at: float,
) -> list[AccountRisk]:
    """Accounts by target risk. The network's own officials and institutions are
    reported organically for what they post: listed only when brigaded (target risk at
    the enforcement check's ``hold_at``)."""
    leaders = AnalysisAccount.tier.in_((1, 2))
    query = select(AnalysisAccount.document).where(
        AnalysisAccount.run_id == run_id,
        AnalysisAccount.target_risk > 0,
        or_(AnalysisAccount.tier.is_(None), ~leaders, AnalysisAccount.target_risk >= hold_at),
    )
    query = _keyset(query, AnalysisAccount.target_risk, AnalysisAccount.account_id, after)
    return [AccountRisk.model_validate(d) for d in session.scalars(query.limit(limit))]


# ------------------------------------------------------------------- lease
def take_lease(conn: Connection, name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False if someone else holds it."""
    now = datetime.now(UTC)
    dialect_insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(Lease).values(name=name, holder=holder, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": now + ttl},
        where=or_(Lease.holder == holder, Lease.expires_at < now),
    )
    conn.execute(stmt)
    held = conn.execute(select(Lease.holder).where(Lease.name == name)).scalar_one()
    return bool(held == holder)


def release_lease(conn: Connection, name: str, holder: str) -> None:
    conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def account_seen(session: Session, account_id: str) -> bool:
    """Whether any ingested data names the account: its record, or a report by or
    against it."""
    account = exists().where(Account.account_id == account_id)
    reported = exists().where(or_(Report.reporter_id == account_id, Report.target_id == account_id))
    return bool(session.scalar(select(account | reported)))


def account_record(session: Session, account_id: str) -> Account | None:
    return session.get(Account, account_id)


# Ids per query: well under SQLite's and PostgreSQL's limits on bound parameters.
NAME_CHUNK = 1_000


def account_names(
    session: Session, account_ids: Sequence[str]
) -> dict[str, tuple[str | None, str | None]]:
    """(handle, display name) of each of ``account_ids`` that has a record."""
    found: dict[str, tuple[str | None, str | None]] = {}
    unique = sorted(set(account_ids))
    for begin in range(0, len(unique), NAME_CHUNK):
        query = select(Account.account_id, Account.handle, Account.display_name).where(
            Account.account_id.in_(unique[begin : begin + NAME_CHUNK])
        )
        found.update((a, (h, d)) for a, h, d in session.execute(query))
    return found


def post_texts(session: Session, post_ids: Sequence[str]) -> dict[str, str | None]:
    """The text of each of ``post_ids`` that is stored."""
    query = select(Post.post_id, Post.text).where(Post.post_id.in_(sorted(set(post_ids))))
    return {post_id: text for post_id, text in session.execute(query)}


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_accounts(session: Session, text: str, limit: int) -> list[dict[str, str | None]]:
    """Accounts with id ``text``, a handle starting with it (any case), or a display
    name containing it: in that order, each alphabetical, at most ``limit``."""
    pattern = _like_escaped(text.lower())
    found: dict[str, dict[str, str | None]] = {}
    tries = (
        Account.account_id == text,
        func.lower(Account.handle).like(pattern + "%", escape="\\"),
        func.lower(Account.display_name).like("%" + pattern + "%", escape="\\"),
    )
    for condition in tries:
        if len(found) >= limit:
            break
        query = (
            select(Account.account_id, Account.handle, Account.display_name)
            .where(condition)
            .order_by(Account.handle.is_(None), Account.handle, Account.account_id)
            .limit(limit)
        )
        for account_id, handle, display_name in session.execute(query):
            found.setdefault(
                account_id,
                {"account_id": account_id, "handle": handle, "display_name": display_name},
            )
    return list(found.values())[:limit]


def run_counts(conn: Connection) -> dict[str, int]:
    """Analysis runs by status (queued, running, succeeded, failed)."""
    query = select(AnalysisRun.status, func.count()).group_by(AnalysisRun.status)
    return {status: count for status, count in conn.execute(query)}


def newest_succeeded(conn: Connection) -> tuple[datetime, dict[str, Any]] | None:
    """When the newest succeeded run finished, and its stats."""
    query = (
        select(AnalysisRun.finished_at, AnalysisRun.stats)
        .where(AnalysisRun.status == SUCCEEDED)
        .order_by(desc(AnalysisRun.finished_at))
        .limit(1)
    )
    row = conn.execute(query).first()
    return (row[0], row[1] or {}) if row and row[0] else None


def report_texts(
    session: Session,
    target_id: str,
    content_id: str | None,
    span: tuple[datetime, datetime],
    limit: int,
) -> list[str]:
    """The most repeated texts of the reports on a target (or one of its items) within
    ``span``, most repeated first."""
    query = (
        select(Report.text)
        .where(
            Report.target_id == target_id,
            Report.created_at >= span[0],
            Report.created_at <= span[1],
            Report.text.is_not(None),
        )
        .group_by(Report.text)
        .order_by(desc(func.count()), Report.text)
        .limit(limit)
    )
    if content_id is not None:
        query = query.where(Report.content_id == content_id)
    return [text for text in session.scalars(query) if text and text.strip()]
