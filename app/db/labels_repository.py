"""Published AT Protocol labels (``models.AtprotoLabel``): written after analysis runs,
read by ``queryLabels``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Row, delete, insert, or_, select

from app.db.models import AtprotoLabel as Label

# seq, uri, val, neg, cts, sig
LabelRow = Row[int, str, str, bool, str, bytes]


def standing(conn: Connection) -> dict[tuple[str, str], bool]:
    """Every published (subject, value) and whether its newest label applies (not a
    negation)."""
    rows = conn.execute(select(Label.uri, Label.val, Label.neg))
    return {(uri, val): not neg for uri, val, neg in rows}


def replace(conn: Connection, uri: str, val: str, neg: bool, cts: str, sig: bytes) -> None:
    """Publish a label, replacing the subject's previous one of that value: it gets a
    new ``seq``, so a client reading on from its cursor sees the change."""
    conn.execute(delete(Label).where(Label.uri == uri, Label.val == val))
    conn.execute(insert(Label).values(uri=uri, val=val, neg=neg, cts=cts, sig=sig))


def matching(
    conn: Connection, exact: Sequence[str], prefixes: Sequence[str], after: int, limit: int
) -> Sequence[LabelRow]:
    """Labels after ``seq`` ``after`` on a subject in ``exact`` or starting with one of
    ``prefixes`` (an empty prefix matches every subject), oldest first."""
    query = select(Label.seq, Label.uri, Label.val, Label.neg, Label.cts, Label.sig).where(
        Label.seq > after
    )
    if "" not in prefixes:
        conditions: list[ColumnElement[bool]] = [Label.uri.in_(exact)] if exact else []
        conditions += [Label.uri.startswith(p, autoescape=True) for p in prefixes]
        query = query.where(or_(*conditions))
    return conn.execute(query.order_by(Label.seq).limit(limit)).all()
