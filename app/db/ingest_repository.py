"""Bulk writes of ingested entities: one statement per batch, dialect-aware upserts.

Every write is ``INSERT ... ON CONFLICT``: reports are never overwritten (a re-sent
``event_id`` is a duplicate), the other entities are upserted by their key. An upsert
only touches a row when a sent value differs from the stored one, so re-sending a
batch writes nothing at all.

On PostgreSQL reports and posts are partitioned by month (app.db.partitions), so their
ids are kept unique by the guard tables ``report_keys`` and ``post_keys``: a write
claims or locks its keys there first, in key order, then writes the partitioned table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import (
    JSON,
    Connection,
    Table,
    column,
    delete,
    false,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from app.db.engine import in_chunks
from app.db.models import (
    Account,
    Base,
    Decision,
    Deletion,
    Edge,
    Post,
    PostHashtag,
    PostMention,
    Report,
    sqlite_micros,
)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert(conn: Connection, table: Table) -> Any:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table)


REPORT_COLUMNS = (
    "event_id",
    "reporter_id",
    "target_id",
    "reason",
    "created_at",
    "content_id",
    "text",
    "ingested_at",
)


# What makes two reports with one event_id the same report.
REPORT_CONTENT = ("reporter_id", "target_id", "reason", "created_at", "content_id", "text")


def stored_reports(conn: Connection, event_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The stored content (``REPORT_CONTENT``) of each of ``event_ids`` that is stored."""
    found: dict[str, tuple[Any, ...]] = {}
    columns = [getattr(Report, name) for name in REPORT_CONTENT]
    for chunk in in_chunks(event_ids):
        query = select(Report.event_id, *columns).where(Report.event_id.in_(chunk))
        for event_id, *values in conn.execute(query):
            found[event_id] = tuple(values)
    return found


Write = Callable[[Connection], int]
Preparer = Callable[[str, Sequence[dict[str, Any]]], Write]


def insert_reports(dialect: str, rows: Sequence[dict[str, Any]]) -> Write:
    """The write that inserts reports whose ``event_id`` is new (it returns how many);
    ``rows`` hold one report per ``event_id`` (a batch's first copy).

    The hot path of the service, so it skips SQLAlchemy's per-value processing: COPY
    into a temporary table on PostgreSQL, one prepared ``executemany`` on SQLite. The
    SQLite parameters are built here, in the caller's thread, so the single writer
    thread only executes and commits.
    """
    if dialect == "postgresql":
        return lambda conn: _copy_reports_postgresql(conn, rows)
    ingested_at = sqlite_micros(rows[0]["ingested_at"])
    params = [
        (
            r["event_id"],
            r["reporter_id"],
            r["target_id"],
            r["reason"],
            sqlite_micros(r["created_at"]),
            r["content_id"],
            r["text"],
            ingested_at,
        )
        for r in rows
    ]
    return lambda conn: _insert_many_sqlite(conn, params)


SQLITE_ROWS_PER_STATEMENT = 2000  # 2000 rows x 8 columns stays under SQLite's 32766 variables
_SQLITE_ROW = f"({', '.join('?' * len(REPORT_COLUMNS))})"


def _sqlite_insert_sql(rows: int) -> str:
    return (
        f"INSERT INTO reports ({', '.join(REPORT_COLUMNS)}) VALUES "
        + ", ".join([_SQLITE_ROW] * rows)
        + " ON CONFLICT (event_id) DO NOTHING"
    )


def _insert_many_sqlite(conn: Connection, params: list[tuple[Any, ...]]) -> int:
    """Multi-row INSERT statements: SQLite runs each in one call, so the writer thread
    releases and retakes the GIL once per statement instead of once per row."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    inserted = 0
    try:
        for start in range(0, len(params), SQLITE_ROWS_PER_STATEMENT):
            chunk = params[start : start + SQLITE_ROWS_PER_STATEMENT]
            cursor.execute(_sqlite_insert_sql(len(chunk)), [v for row in chunk for v in row])
            inserted += cursor.rowcount
        return inserted
    finally:
        cursor.close()


def _copy_into_staging(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> str:
    """COPY ``rows`` into a temporary table shaped like ``table``, emptied at commit;
    returns its name. PostgreSQL's fastest way in for a batch."""
    staging = f"{table}_incoming"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
            f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {staging} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()
    return staging


def _copy_reports_postgresql(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    staging = _copy_into_staging(
        conn, "reports", REPORT_COLUMNS, (tuple(r[c] for c in REPORT_COLUMNS) for r in rows)
    )
    columns = ", ".join(REPORT_COLUMNS)
    # A claim waits for a concurrent writer of the same event id and fails if that one
    # commits, so exactly one of them inserts the report. Staged rows keep batch order
    # (ctid), and seq with them.
    result = conn.exec_driver_sql(
        f"WITH claimed AS (INSERT INTO report_keys (event_id)"
        f" SELECT event_id FROM {staging} ORDER BY event_id"
        f" ON CONFLICT DO NOTHING RETURNING event_id)"
        f" INSERT INTO reports ({columns}) SELECT {columns} FROM {staging}"
        f" WHERE event_id IN (SELECT event_id FROM claimed) ORDER BY ctid"
    )
    return int(result.rowcount)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    replaced: Iterable[str] = (),
    kept_when_null: Iterable[str] = (),
) -> int:
    """Upsert ``rows`` (unique by ``keys``); returns how many rows were new or changed.

    ``replaced`` columns take the sent value; ``kept_when_null`` columns keep the stored
    value when the sent one is null. ``updated_at`` moves only when something changed.
    On PostgreSQL the rows arrive through COPY into a staging table; SQLite takes them
    as one multi-row statement.
    """
    if not rows:
        return 0
    replaced, kept_when_null = list(replaced), list(kept_when_null)
    if conn.dialect.name == "postgresql":
        columns = [*keys, *replaced, *kept_when_null, "updated_at"]
        staging = _copy_into_staging(conn, table.name, columns, _copy_values(table, columns, rows))
        return len(_upsert_staged(conn, table, staging, keys, replaced, kept_when_null))
    stmt = _on_conflict_update(sqlite.insert(table), table, keys, replaced, kept_when_null)
    return len(conn.execute(stmt, list(rows)).all())


def _upsert_staged(
    conn: Connection,
    table: Table,
    staging: str,
    keys: Sequence[str],
    replaced: list[str],
    kept_when_null: list[str],
) -> set[Any]:
    """Upsert the rows staged in ``staging`` into ``table``; the first keys of the rows
    that were new or changed."""
    columns = [*keys, *replaced, *kept_when_null, "updated_at"]
    staged: Any = select(*(column(c) for c in columns)).select_from(sql_table(staging))
    ins = postgresql.insert(table).from_select(columns, staged)
    return set(conn.scalars(_on_conflict_update(ins, table, keys, replaced, kept_when_null)))


def _on_conflict_update(
    ins: Any, table: Table, keys: Sequence[str], replaced: list[str], kept_when_null: list[str]
) -> Any:
    set_: dict[str, Any] = {c: ins.excluded[c] for c in replaced}
    set_ |= {c: func.coalesce(ins.excluded[c], table.c[c]) for c in kept_when_null}
    set_["updated_at"] = ins.excluded["updated_at"]
    changes: list[ColumnElement[bool]] = [
        ins.excluded[c].is_distinct_from(table.c[c]) for c in replaced
    ]
    changes += [
        ins.excluded[c].is_not(None) & ins.excluded[c].is_distinct_from(table.c[c])
        for c in kept_when_null
    ]
    return ins.on_conflict_do_update(
        index_elements=list(keys), set_=set_, where=or_(false(), *changes)
    ).returning(table.c[keys[0]])


def _copy_values(
    table: Table, columns: Sequence[str], rows: Iterable[dict[str, Any]]
) -> Iterator[tuple[Any, ...]]:
    """Row tuples for COPY; JSON values are wrapped so psycopg sends them as jsonb."""
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    for row in rows:
        yield tuple(
            Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c] for c in columns
        )


def upsert_accounts(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    table = _table(Account)
    columns = [c.name for c in table.columns if c.name not in ("account_id", "updated_at")]
    return upsert(conn, table, rows, ["account_id"], kept_when_null=columns)


def upsert_edges(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return upsert(
        conn,
        _table(Edge),
        rows,
        ["src", "dst", "kind"],
        replaced=["weight"],
        kept_when_null=["created_at"],
    )


def upsert_decisions(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return upsert(
        conn,
        _table(Decision),
        rows,
        ["decision_id"],
        replaced=["target_id", "outcome", "decided_at"],
        kept_when_null=["content_id"],
    )


POST_COLUMNS = ("post_id", "author_id", "created_at", "text", "reshare_of", "reply_to")
POST_KEPT_WHEN_NULL = ["text", "reshare_of", "reply_to"]


def upsert_posts(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Upsert posts; their mentions and hashtags, where sent, replace the stored ones."""
    posts = [{c: row[c] for c in (*POST_COLUMNS, "updated_at")} for row in rows]
    if conn.dialect.name == "postgresql":
        changed = _upsert_posts_postgresql(conn, posts)
    else:
        changed = upsert(
            conn,
            _table(Post),
            posts,
            ["post_id"],
            replaced=["author_id", "created_at"],
            kept_when_null=POST_KEPT_WHEN_NULL,
        )
    relinked = _replace_links(conn, _table(PostMention), "account_id", rows, "mentions")
    relinked |= _replace_links(conn, _table(PostHashtag), "hashtag", rows, "hashtags")
    if relinked:
        # New links are a change of the post: an analysis run reads the posts whose
        # change time moved since the last.
        stamp = max(row["updated_at"] for row in rows)
        posts_table = _table(Post)
        for chunk in in_chunks(sorted(relinked)):
            # Not the posts this write stored or changed: stamped already.
            unstamped = posts_table.c.updated_at != stamp
            conn.execute(
                update(posts_table)
                .where(posts_table.c.post_id.in_(chunk), unstamped)
                .values(updated_at=stamp)
            )
    return changed


def _upsert_posts_postgresql(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Posts are partitioned by their time, which a later version may change: the post
    then moves to its new month's partition, keeping what that version leaves null.

    Each post's row in ``post_keys`` is locked first (the upsert locks the rows it leaves
    alone too), so concurrent writers of one post take turns; the statements after it
    see what the previous writer committed.
    """
    table = _table(Post)
    columns = ["post_id", "created_at", "author_id", *POST_KEPT_WHEN_NULL, "updated_at"]
    staging = _copy_into_staging(conn, "posts", columns, _copy_values(table, columns, rows))
    keyed = conn.exec_driver_sql(
        "INSERT INTO post_keys (post_id, created_at)"
        f" SELECT post_id, created_at FROM {staging} ORDER BY post_id"
        " ON CONFLICT (post_id) DO UPDATE SET created_at = excluded.created_at"
        " WHERE post_keys.created_at <> excluded.created_at"
        # xmax is 0 on a row this statement inserted, set on one it updated.
        " RETURNING post_id, xmax = 0"
    ).all()
    moved: set[Any] = set()
    if retimed := [post_id for post_id, inserted in keyed if not inserted]:
        moved = set(
            conn.execute(
                text(
                    "UPDATE posts SET created_at = s.created_at, updated_at = s.updated_at"
                    f" FROM {staging} s WHERE posts.post_id = s.post_id"
                    " AND posts.post_id = ANY(:retimed) AND posts.created_at <> s.created_at"
                    " RETURNING posts.post_id"
                ),
                {"retimed": retimed},
            ).scalars()
        )
    changed = _upsert_staged(
        conn, table, staging, ["post_id", "created_at"], ["author_id"], POST_KEPT_WHEN_NULL
    )
    return len(moved | changed)


def _replace_links(
    conn: Connection, table: Table, column: str, rows: Sequence[dict[str, Any]], field: str
) -> set[str]:
    """Replace the links of the posts that sent ``field``; the posts whose links
    changed."""
    sent = [row for row in rows if row.get(field) is not None]
    if not sent:
        return set()
    stored: dict[str, set[Any]] = {}
    for chunk in in_chunks([row["post_id"] for row in sent]):
        found = conn.execute(
            select(table.c.post_id, table.c[column]).where(table.c.post_id.in_(chunk))
        )
        for post_id, value in found:
            stored.setdefault(post_id, set()).add(value)
    relinked = {
        row["post_id"] for row in sent if set(row[field]) != stored.get(row["post_id"], set())
    }
    conn.execute(delete(table).where(table.c.post_id.in_([row["post_id"] for row in sent])))
    links = [
        {"post_id": row["post_id"], column: value}
        for row in sent
        for value in dict.fromkeys(row[field])
    ]
    if links:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), links)
    return relinked


def note_deletion(conn: Connection, kind: str) -> None:
    """Count a deletion of rows of ``kind`` (``Deletion``), in the deleting
    transaction."""
    table = _table(Deletion)
    conn.execute(
        _insert(conn, table)
        .values(kind=kind, generation=1)
        .on_conflict_do_update(index_elements=["kind"], set_={"generation": table.c.generation + 1})
    )


def stamped_in_transaction(
    write_rows: Callable[[Connection, Sequence[dict[str, Any]]], int],
) -> Preparer:
    """A preparer for upserts, which need no preparation outside the transaction. Their
    change time (``updated_at``) is taken when the transaction runs, not when the
    request came: an analysis run reads the rows changed since shortly before its last
    read began, and a stamp taken before a wait for the writer could fall earlier."""

    def prepare(_dialect: str, rows: Sequence[dict[str, Any]]) -> Write:
        def write(conn: Connection) -> int:
            now = datetime.now(UTC)
            for row in rows:
                row["updated_at"] = now
            return write_rows(conn, rows)

        return write

    return prepare
