"""The one reader of stored entities for the pipeline: everything or what changed since
a read (a run, as column batches for the analysing process's copy,
``app/services/stored_data.py``) or the neighbourhood of some targets (the fast path,
as records for ``build_data``).

Both read the same columns the same way (the fast path leaves out the text of the
reporters' reports on other targets): times as epoch seconds (a million datetime
objects cost seconds), posts with their mentions and hashtags, and records in the order
of their keys, so an analysis depends on what is stored, not on the order it arrived in
(replicas ingesting at once interleave batches; tie-breaks such as a wave's first
report follow the input order). A full run streams its records in batches, sorted by
the database (the copy keeps them in code-point order, whatever the collation); the
neighbourhood is small, comes as lists and is sorted here by code point too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    cast,
    func,
    or_,
    select,
    type_coerce,
)

from app.db import columnar
from app.db.engine import in_chunks
from app.db.models import (
    Account,
    Decision,
    Deletion,
    Edge,
    Post,
    PostHashtag,
    PostMention,
    Report,
)

Record = dict[str, Any]
# Columns of a batch of rows by name (what ``app.detection.data`` calls ``Columns``).
Batch = dict[str, Sequence[Any]]
BATCH = 10_000


Records = TypeVar("Records", bound=Iterable[Record] | Iterable[Batch])


@dataclass
class Snapshot(Generic[Records]):
    """Stored entities for the pipeline: streams of column batches, read once, from a
    full run; lists of records from the fast path."""

    accounts: Records
    edges: Records
    posts: Records
    reports: Records
    decisions: Records


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    """A stored time as float epoch seconds, computed by the database."""
    if dialect == "sqlite":  # whole microseconds (models.UtcDateTime)
        return type_coerce(column, BigInteger) / 1_000_000.0
    return cast(func.extract("epoch", column), Float)


def _columns(kind: str, dialect: str, with_text: bool = True) -> list[Any]:
    """What the pipeline reads of each entity."""
    if kind == "accounts":
        return [
            Account.account_id,
            Account.handle,
            _epoch(Account.created_at, dialect).label("created_at"),
            Account.followers_count,
            Account.labels,
            Account.status,
            _epoch(Account.status_changed_at, dialect).label("status_changed_at"),
        ]
    if kind == "edges":
        created = _epoch(Edge.created_at, dialect).label("created_at")
        return [Edge.src, Edge.dst, Edge.kind, Edge.weight, created]
    if kind == "posts":
        created = _epoch(Post.created_at, dialect).label("created_at")
        return [Post.post_id, Post.author_id, created, Post.reshare_of, Post.reply_to]
    if kind == "reports":
        created = _epoch(Report.created_at, dialect).label("created_at")
        columns = [Report.event_id, Report.reporter_id, Report.target_id, Report.reason, created]
        return columns + [Report.content_id] + ([Report.text] if with_text else [])
    decided = _epoch(Decision.decided_at, dialect).label("decided_at")
    return [
        Decision.decision_id,
        Decision.target_id,
        Decision.outcome,
        decided,
        Decision.content_id,
    ]


# The entity kinds, in the order the builder takes them (``Snapshot``'s fields).
KINDS = ("accounts", "edges", "posts", "reports", "decisions")
# The order of each entity's records: its key.
ORDER = {
    "accounts": ("account_id",),
    "edges": ("src", "dst", "kind"),
    "posts": ("post_id",),
    "reports": ("created_at", "event_id"),
    "decisions": ("decision_id",),
}


def _stream(conn: Connection, statement: Any) -> Iterator[Record]:
    """Rows as records, fetched a batch at a time."""
    result = conn.execute(statement)
    keys = list(result.keys())
    while batch := result.fetchmany(BATCH):
        for row in batch:
            yield dict(zip(keys, row, strict=True))


def _batches(conn: Connection, statement: Any) -> Iterator[Batch]:
    """Rows as column batches, a fetch at a time: no record per row, and a million rows
    never held at once."""
    result = conn.execute(statement)
    keys = list(result.keys())
    while rows := result.fetchmany(BATCH):
        yield dict(zip(keys, zip(*rows, strict=True), strict=True))


def _plain_batches(conn: Connection, statement: Any) -> Iterator[Batch]:
    """``_batches`` for a statement whose values need no conversion by SQLAlchemy
    (strings and numbers): run on the driver's own cursor, a third faster over the
    millions of edges of a graph-heavy world (20 s against 30 s for 5.1 million)."""
    sql = _sql(conn, statement)
    keys = [column.key for column in statement.selected_columns]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            yield dict(zip(keys, zip(*rows, strict=True), strict=True))
    finally:
        cursor.close()


def records(batches: Iterable[Batch]) -> Iterator[Record]:
    """Column batches as records again (to write them out as NDJSON)."""
    for batch in batches:
        names = list(batch)
        for row in zip(*batch.values(), strict=True):
            yield dict(zip(names, row, strict=True))


Links = dict[str, list[str]]


def _links(conn: Connection, post_ids: Sequence[str] | None = None) -> tuple[Links, Links]:
    """Each post's mentioned accounts and its hashtags (of ``post_ids``, or of all)."""

    def gather(table: Any, column: Any) -> Links:
        query = select(table.post_id, column).order_by(table.post_id, column)
        statements = (
            [query]
            if post_ids is None
            else [query.where(table.post_id.in_(chunk)) for chunk in in_chunks(post_ids)]
        )
        links: Links = {}
        for statement in statements:
            for post_id, value in conn.execute(statement):
                links.setdefault(post_id, []).append(value)
        return links

    return gather(PostMention, PostMention.account_id), gather(PostHashtag, PostHashtag.hashtag)


def _linked(posts: Iterable[Record], mentions: Links, hashtags: Links) -> Iterator[Record]:
    for post in posts:
        post["mentions"] = mentions.get(post["post_id"])
        post["hashtags"] = hashtags.get(post["post_id"])
        yield post


def _linked_batches(batches: Iterable[Batch], mentions: Links, hashtags: Links) -> Iterator[Batch]:
    for batch in batches:
        ids = batch["post_id"]
        linked = {
            "mentions": [mentions.get(p) for p in ids],
            "hashtags": [hashtags.get(p) for p in ids],
        }
        yield batch | linked


def _every_statement(conn: Connection, kind: str) -> Any:
    """Every stored row of ``kind`` in key order."""
    columns = _columns(kind, conn.dialect.name)
    by = {c.key: c for c in columns}
    return select(*columns).order_by(*(by[k] for k in ORDER[kind]))


def every(conn: Connection, kind: str) -> Iterator[Batch]:
    """Every stored row of ``kind``, streamed in key order as column batches."""
    ordered = _every_statement(conn, kind)
    if kind == "edges":
        return _plain_batches(conn, ordered)
    if kind == "posts":
        mentions, hashtags = _links(conn)
        return _linked_batches(_batches(conn, ordered), mentions, hashtags)
    return _batches(conn, ordered)


# Each post's links, read beside it: (name, table, value column).
_LINK_TABLES = (
    ("mentions", PostMention, PostMention.account_id),
    ("hashtags", PostHashtag, PostHashtag.hashtag),
)


def whole_tables(conn: Connection) -> dict[str, pa.Table] | None:
    """Every stored row of each kind (``KINDS``) as one Arrow table, in key order, with the
    values ``every`` gives (each post's links and each account's labels as lists),
    read by the columnar reader (``columnar``); None where there is none (PostgreSQL,
    a database in memory, a ``file:`` URI): read ``every`` then. Its read transaction
    is its own, begun after ``conn``'s: it sees the database as it was then or later.
    For a full read of a run's copy (``stored_data``) that is safe: rows added or
    changed since ``conn``'s snapshot are read again by the next run (its margin), and
    rows deleted since make the next run read their kind whole (the deletion counts it
    compares with were read in ``conn``'s snapshot)."""
    database = conn.engine.url.database
    if (
        conn.dialect.name != "sqlite"
        or not database
        or database == ":memory:"
        or database.startswith("file:")  # a URI, with options of its own
    ):
        return None
    statements = [_every_statement(conn, kind) for kind in KINDS]
    statements += [
        select(model.post_id, value).order_by(model.post_id, value)
        for _, model, value in _LINK_TABLES
    ]
    read = columnar.read_tables(database, [_sql(conn, s) for s in statements])
    tables = dict(zip(KINDS, read, strict=False))
    accounts = tables["accounts"]
    labels = [orjson.loads(v) if v is not None else None for v in accounts["labels"].to_pylist()]
    tables["accounts"] = accounts.set_column(
        accounts.schema.get_field_index("labels"),
        "labels",
        pa.array(labels, pa.list_(pa.string())),
    )
    for (name, _, _), links in zip(_LINK_TABLES, read[len(KINDS) :], strict=True):
        tables["posts"] = tables["posts"].append_column(
            name, _lists_by_post(tables["posts"]["post_id"], links)
        )
    return tables


def _sql(conn: Connection, statement: Any) -> str:
    return str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def _lists_by_post(post_ids: pa.ChunkedArray, links: pa.Table) -> pa.Array:
    """Per post of ``post_ids``, the values linked to it (``links``: post id and value,
    sorted by post id), in their order; null for a post with none."""
    # A column with no value at all comes from the reader as integers.
    post_ids = post_ids.cast(pa.string())
    owner = links.column(0).combine_chunks().cast(pa.string())
    values = links.column(1).combine_chunks().cast(pa.string())
    if len(owner) == 0:
        return pa.nulls(len(post_ids), pa.list_(pa.string()))
    changes = pc.not_equal(owner.slice(1), owner.slice(0, len(owner) - 1))
    starts = np.concatenate([[0], np.flatnonzero(changes.to_numpy(zero_copy_only=False)) + 1])
    offsets = pa.array(np.append(starts, len(owner)), pa.int32())
    lists = pa.ListArray.from_arrays(offsets, values)
    return lists.take(pc.index_in(post_ids, value_set=owner.take(pa.array(starts))))


def everything(conn: Connection) -> Snapshot[Iterator[Batch]]:
    """Every stored entity, streamed in key order as column batches."""
    return Snapshot(*(every(conn, kind) for kind in KINDS))


# The upserted kinds, each with its change time.
CHANGING: dict[str, type[Account] | type[Edge] | type[Post] | type[Decision]] = {
    "accounts": Account,
    "edges": Edge,
    "posts": Post,
    "decisions": Decision,
}


def deletions(conn: Connection) -> dict[str, int]:
    """How many times each kind's rows were deleted (``Deletion``)."""
    return {
        kind: generation
        for kind, generation in conn.execute(select(Deletion.kind, Deletion.generation))
    }


def newest_report_seq(conn: Connection) -> int:
    return conn.scalar(select(func.max(Report.seq))) or 0


def counts(conn: Connection) -> dict[str, int]:
    """How many rows each kind has."""
    models = {**CHANGING, "reports": Report}
    return {
        kind: conn.scalar(select(func.count()).select_from(model)) or 0
        for kind, model in models.items()
    }


def changed_since(conn: Connection, report_seq: int, since: datetime) -> Snapshot[Iterator[Batch]]:
    """The reports after ``report_seq`` and the rows of the upserted kinds changed after
    ``since``, as column batches in no set order."""
    dialect = conn.dialect.name

    def changed(kind: str) -> Any:
        return select(*_columns(kind, dialect)).where(CHANGING[kind].updated_at > since)

    posts = [batch for batch in _batches(conn, changed("posts"))]
    post_ids = [post_id for batch in posts for post_id in batch["post_id"]]
    mentions, hashtags = _links(conn, post_ids)
    return Snapshot(
        accounts=_batches(conn, changed("accounts")),
        edges=_plain_batches(conn, changed("edges")),
        posts=_linked_batches(posts, mentions, hashtags),
        reports=_batches(
            conn, select(*_columns("reports", dialect)).where(Report.seq > report_seq)
        ),
        decisions=_batches(conn, changed("decisions")),
    )


def _sorted(kind: str, records: Iterable[Record]) -> list[Record]:
    """Records in the order ``everything`` gives them (sorted here: an ORDER BY could
    change the fast path's index plans)."""
    keys = ORDER[kind]
    return sorted(records, key=lambda record: tuple(record[k] for k in keys))


def around(
    conn: Connection, targets: Sequence[str], lookback_s: float, directive_window_s: float
) -> Snapshot[list[Record]]:
    """What the pipeline needs to judge the recent reports against ``targets``: their
    reports of the ``lookback_s`` before the newest, the same days' reports of those
    reporters elsewhere (without text), the reporters' follows and ties to the targets,
    the accounts, the decisions on every reported account, the posts that named the
    targets within ``directive_window_s`` before, and the reshares of their posts."""
    newest = conn.scalar(select(func.max(Report.created_at)).where(Report.target_id.in_(targets)))
    if newest is None:
        return Snapshot([], [], [], [], [])
    since = newest - timedelta(seconds=lookback_s)
    dialect = conn.dialect.name
    report_columns = _columns("reports", dialect)
    own = list(
        _stream(
            conn,
            select(*report_columns).where(
                Report.target_id.in_(targets), Report.created_at >= since
            ),
        )
    )
    reporters = sorted({r["reporter_id"] for r in own})
    reports = {r["event_id"]: r for r in own}
    edges: list[Record] = []
    elsewhere = select(*_columns("reports", dialect, with_text=False))
    for chunk in in_chunks(reporters):
        statement = elsewhere.where(Report.reporter_id.in_(chunk), Report.created_at >= since)
        for row in _stream(conn, statement):
            reports.setdefault(row["event_id"], row)
        ties = or_(Edge.kind == "follow", Edge.dst.in_(targets))
        edges += _stream(conn, select(*_columns("edges", dialect)).where(Edge.src.in_(chunk), ties))
    accounts: list[Record] = []
    for chunk in in_chunks(sorted(set(reporters) | set(targets))):
        accounts += _stream(
            conn, select(*_columns("accounts", dialect)).where(Account.account_id.in_(chunk))
        )
    decisions: list[Record] = []
    for chunk in in_chunks(sorted({r["target_id"] for r in reports.values()})):
        decisions += _stream(
            conn, select(*_columns("decisions", dialect)).where(Decision.target_id.in_(chunk))
        )
    return Snapshot(
        accounts=_sorted("accounts", accounts),
        edges=_sorted("edges", edges),
        posts=_sorted(
            "posts", _posts_about(conn, targets, since - timedelta(seconds=directive_window_s))
        ),
        reports=_sorted("reports", reports.values()),
        decisions=_sorted("decisions", decisions),
    )


def _posts_about(conn: Connection, targets: Sequence[str], since: datetime) -> list[Record]:
    """Posts that named the targets lately (directives) and reshares of their posts
    (exposure), the posts reshared, with their mentions and hashtags."""
    columns = select(*_columns("posts", conn.dialect.name))
    naming = select(PostMention.post_id).where(PostMention.account_id.in_(targets))
    own_posts = select(Post.post_id).where(Post.author_id.in_(targets))
    # Two statements, not one with OR: PostgreSQL reads all posts for an OR of
    # subqueries, and each half alone is an index lookup.
    found = list(_stream(conn, columns.where(Post.post_id.in_(naming), Post.created_at >= since)))
    found += _stream(conn, columns.where(Post.reshare_of.in_(own_posts)))
    by_id = {p["post_id"]: p for p in found}
    originals = sorted({p["reshare_of"] for p in by_id.values() if p["reshare_of"]} - set(by_id))
    for chunk in in_chunks(originals):
        by_id.update(
            (p["post_id"], p) for p in _stream(conn, columns.where(Post.post_id.in_(chunk)))
        )
    mentions, hashtags = _links(conn, sorted(by_id))
    return list(_linked(by_id.values(), mentions, hashtags))
