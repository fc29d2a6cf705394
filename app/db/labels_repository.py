"""Published AT Protocol labels (``models.AtprotoLabel``): written after analysis runs,
read by ``queryLabels``; each labeler (``src``) sees only its own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, Row, delete, func, insert, or_, select

from app.db.models import AtprotoLabel as Label

# seq, uri, val, neg, cts, sig
LabelRow = Row[int, str, str, bool, str, bytes]


def standing(conn: Connection, src: str) -> dict[tuple[str, str], tuple[bool, str]]:
    """Every (subject, value) the labeler published: whether its newest label applies
    (not a negation), and the key that signed it."""
    rows = conn.execute(
        select(Label.uri, Label.val, Label.neg, Label.signer).where(Label.src == src)
    )
    return {(uri, val): (not neg, signer) for uri, val, neg, signer in rows}


def replace(
    conn: Connection, src: str, uri: str, val: str, neg: bool, cts: str, sig: bytes, signer: str
) -> None:
    """Publish a label, replacing the labeler's previous one on that subject and value:
    it gets a new ``seq``, so a client reading on from its cursor sees the change."""
    conn.execute(delete(Label).where(Label.src == src, Label.uri == uri, Label.val == val))
    conn.execute(
        insert(Label).values(src=src, uri=uri, val=val, neg=neg, cts=cts, sig=sig, signer=signer)
    )


def matching(
    conn: Connection,
    src: str,
    exact: Sequence[str],
    prefixes: Sequence[str],
    after: int,
    limit: int,
) -> Sequence[LabelRow]:
    """The labeler's labels after ``seq`` ``after`` on a subject in ``exact`` or starting
    with one of ``prefixes`` (an empty prefix matches every subject), oldest first.
    Prefixes compare exactly, case and all, on every database (LIKE would not)."""
    query = select(Label.seq, Label.uri, Label.val, Label.neg, Label.cts, Label.sig).where(
        Label.src == src, Label.seq > after
    )
    if "" not in prefixes:
        conditions: list[ColumnElement[bool]] = [Label.uri.in_(exact)] if exact else []
        conditions += [func.substr(Label.uri, 1, len(p)) == p for p in prefixes]
        query = query.where(or_(*conditions))
    return conn.execute(query.order_by(Label.seq).limit(limit)).all()
