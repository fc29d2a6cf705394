"""Ingest endpoints over real HTTP: storage, per-item rejection, idempotency, upserts."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from app.api.paths import routing_path
from app.db.engine import Database
from app.db.models import Account, Decision, Edge, Post, PostHashtag, PostMention, Report
from tests.conftest import snapshot

ARABIC = "هذا الحساب يدعم الإرهاب — إبلاغ! ـــ"


def report(event_id: str, **extra: object) -> dict[str, object]:
    return {
        "event_id": event_id,
        "reporter_id": "r1",
        "target_id": "t1",
        "reason": "terrorism",
        "created_at": "2017-07-29T10:00:00Z",
    } | extra


def test_reports_are_stored_and_resent_reports_are_duplicates(
    client: httpx.Client, db: Database
) -> None:
    batch = {"reports": [report("e1"), report("e2", text=ARABIC, content_id="c9")]}
    first = client.post("/v1/reports", json=batch)
    assert first.status_code == 200
    assert first.json() == {"accepted": 2, "duplicates": 0, "rejected": []}

    resent = report("e2", text=ARABIC, content_id="c9")
    again = client.post("/v1/reports", json={"reports": [resent, report("e3"), report("e3")]})
    assert again.json() == {"accepted": 1, "duplicates": 2, "rejected": []}

    with db.sessions() as session:
        rows = {r.event_id: r for r in session.scalars(select(Report))}
    assert set(rows) == {"e1", "e2", "e3"}
    assert rows["e2"].text == ARABIC
    assert rows["e2"].text.encode() == ARABIC.encode()
    assert rows["e2"].content_id == "c9"
    assert rows["e1"].created_at == datetime(2017, 7, 29, 10, tzinfo=UTC)


def test_a_resent_event_id_with_other_content_is_a_conflict(
    client: httpx.Client, db: Database
) -> None:
    """Reports are never changed: re-using a stored event_id for another report (a
    guessed id used to suppress the real one) is refused and counted, not merged."""
    assert client.post("/v1/reports", json={"reports": [report("e1")]}).json()["accepted"] == 1
    before = snapshot(db)
    forged = [
        report("e1", target_id="someone-else"),
        report("e1"),
        report("e1", text="added later"),
        report("e2"),
        report("e2", reason="spam"),
    ]
    answer = client.post("/v1/reports", json={"reports": forged}).json()
    assert answer["accepted"] == 1 and answer["duplicates"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 2, 4]
    assert all(r["errors"][0]["loc"] == ["event_id"] for r in answer["rejected"])
    assert "already stored with other content" in answer["rejected"][0]["errors"][0]["msg"]
    after = snapshot(db)
    assert after["reports"] == sorted(
        before["reports"] + [r for r in after["reports"] if r[0] == "e2"], key=repr
    )
    [e1] = [r for r in after["reports"] if r[0] == "e1"]
    assert e1[2] == "t1"
    metrics = client.get("/metrics").text
    assert 'mrd_ingest_items_total{kind="reports",outcome="conflict"}' in metrics


def test_valid_items_are_stored_when_others_are_rejected(
    client: httpx.Client, db: Database
) -> None:
    batch = [
        report("ok-1"),
        report("bad-1", created_at="2017-07-29T10:00:00"),
        {"event_id": "bad-2", "reporter_id": "r1"},
        report("ok-2", created_at=1501322400),
    ]
    answer = client.post("/v1/reports", json={"reports": batch}).json()
    assert answer["accepted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [1, 2]
    naive = answer["rejected"][0]["errors"]
    assert naive == [{"loc": ["created_at"], "msg": naive[0]["msg"]}]
    assert "timezone" in naive[0]["msg"]
    missing = {tuple(e["loc"]) for e in answer["rejected"][1]["errors"]}
    assert missing == {("target_id",), ("reason",), ("created_at",)}
    with db.sessions() as session:
        stored = {r.event_id: r.created_at for r in session.scalars(select(Report))}
    assert stored == {
        "ok-1": datetime(2017, 7, 29, 10, tzinfo=UTC),
        "ok-2": datetime(2017, 7, 29, 10, tzinfo=UTC),
    }


def test_timestamps_with_offsets_are_stored_in_utc(client: httpx.Client, db: Database) -> None:
    client.post(
        "/v1/reports", json={"reports": [report("e1", created_at="2017-07-29T13:00:00+03:00")]}
    )
    with db.sessions() as session:
        assert session.scalars(select(Report.created_at)).one() == datetime(
            2017, 7, 29, 10, tzinfo=UTC
        )


def test_reason_is_normalised_to_lower_case(client: httpx.Client, db: Database) -> None:
    client.post("/v1/reports", json={"reports": [report("e1", reason=" Terrorism ")]})
    with db.sessions() as session:
        assert session.scalars(select(Report.reason)).one() == "terrorism"


def test_account_upsert_keeps_fields_not_sent(client: httpx.Client, db: Database) -> None:
    full = {
        "account_id": "a1",
        "handle": "iraq_analyst",
        "display_name": "محلل عراقي",
        "created_at": "2011-03-02T08:00:00Z",
        "followers_count": 100,
        "following_count": 5,
        "verified": True,
        "labels": ["Journalist", "counter_extremism"],
        "status": "active",
    }
    assert client.post("/v1/accounts", json={"accounts": [full]}).json() == {
        "accepted": 1,
        "rejected": [],
    }
    change = {"account_id": "a1", "status": "suspended", "status_changed_at": 1501322400}
    client.post("/v1/accounts", json={"accounts": [change]})
    with db.sessions() as session:
        account = session.get_one(Account, "a1")
    assert account.handle == "iraq_analyst"
    assert account.display_name == "محلل عراقي"
    assert account.labels == ["journalist", "counter_extremism"]
    assert account.verified is True
    assert account.status == "suspended"
    assert account.status_changed_at == datetime(2017, 7, 29, 10, tzinfo=UTC)


def test_resending_upserts_changes_nothing(client: httpx.Client, db: Database) -> None:
    batches = {
        "accounts": [{"account_id": "a1", "handle": "h", "labels": ["journalist"]}],
        "edges": [
            {"src": "a1", "dst": "a2", "kind": "follow"},
            {"src": "a1", "dst": "a2", "kind": "retweet", "weight": 3},
        ],
        "posts": [
            {
                "post_id": "p1",
                "author_id": "a1",
                "created_at": 1501322400,
                "mentions": ["a2"],
                "hashtags": ["حملة"],
            }
        ],
        "decisions": [
            {
                "decision_id": "d1",
                "target_id": "a2",
                "outcome": "violation",
                "decided_at": 1501322400,
            }
        ],
    }
    for kind, items in batches.items():
        assert client.post(f"/v1/{kind}", json={kind: items}).status_code == 200

    def stamps() -> list[object]:
        with db.sessions() as session:
            return [
                *session.scalars(select(Account.updated_at)),
                *session.scalars(select(Edge.updated_at)),
            ]

    stamps_before = stamps()
    before = snapshot(db)
    for kind, items in batches.items():
        answer = client.post(f"/v1/{kind}", json={kind: items}).json()
        assert answer["rejected"] == []
        if kind == "posts":
            assert answer == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert snapshot(db) == before
    assert stamps() == stamps_before


def test_edge_weight_is_set_not_added(client: httpx.Client, db: Database) -> None:
    edge = {"src": "a1", "dst": "a2", "kind": "retweet", "weight": 4}
    client.post("/v1/edges", json={"edges": [edge]})
    client.post("/v1/edges", json={"edges": [edge]})
    client.post("/v1/edges", json={"edges": [edge | {"weight": 7}]})
    with db.sessions() as session:
        assert session.scalars(select(Edge.weight)).all() == [7]


def test_duplicate_keys_in_one_batch_merge_in_order(client: httpx.Client, db: Database) -> None:
    accounts = [
        {"account_id": "a1", "handle": "first", "followers_count": 3},
        {"account_id": "a1", "handle": "second"},
    ]
    assert client.post("/v1/accounts", json={"accounts": accounts}).json()["accepted"] == 2
    with db.sessions() as session:
        account = session.get_one(Account, "a1")
    assert (account.handle, account.followers_count) == ("second", 3)


def test_posts_store_mentions_and_hashtags_and_replace_them(
    client: httpx.Client, db: Database
) -> None:
    post = {
        "post_id": "p1",
        "author_id": "inst-1",
        "created_at": "2017-07-29T09:30:00Z",
        "text": "بلغوا عن @analyst #حملة_التبليغ",
        "mentions": ["analyst", "analyst", "other"],
        "hashtags": ["حملة_التبليغ"],
    }
    reshare = {"post_id": "p2", "author_id": "a9", "created_at": 1501320660, "reshare_of": "p1"}
    answer = client.post("/v1/posts", json={"posts": [post, reshare]}).json()
    assert answer == {"accepted": 2, "duplicates": 0, "rejected": []}
    client.post("/v1/posts", json={"posts": [{**post, "mentions": ["analyst"]}]})
    with db.sessions() as session:
        assert sorted(session.scalars(select(PostMention.account_id))) == ["analyst"]
        assert session.scalars(select(PostHashtag.hashtag)).all() == ["حملة_التبليغ"]
        assert session.get_one(Post, "p2").reshare_of == "p1"
        assert session.get_one(Post, "p1").text == post["text"]


def test_decisions_are_upserted(client: httpx.Client, db: Database) -> None:
    decision = {
        "decision_id": "d1",
        "target_id": "t1",
        "outcome": "violation",
        "decided_at": 1501322400,
    }
    client.post("/v1/decisions", json={"decisions": [decision]})
    client.post("/v1/decisions", json={"decisions": [decision | {"outcome": "no_violation"}]})
    with db.sessions() as session:
        assert session.get_one(Decision, "d1").outcome == "no_violation"


def test_numeric_ids_are_accepted_as_strings(client: httpx.Client, db: Database) -> None:
    answer = client.post(
        "/v1/reports",
        json={
            "reports": [
                {
                    "event_id": 1,
                    "reporter_id": 22,
                    "target_id": 333,
                    "reason": "spam",
                    "created_at": 1501322400,
                }
            ]
        },
    ).json()
    assert answer["accepted"] == 1
    with db.sessions() as session:
        assert session.scalars(select(Report.reporter_id)).one() == "22"


def test_unknown_fields_are_ignored(client: httpx.Client, db: Database) -> None:
    answer = client.post("/v1/reports", json={"reports": [report("e1", platform_note="x")]}).json()
    assert answer["accepted"] == 1


AWKWARD_IDS = [
    "a/b",
    "x/risk",
    "/leading",
    "100%",
    "a%2Fb",
    "what?",
    "x#y",
    "with space",
    "حساب/عربي",
    "s" * 120 + "/" * 8,
]


def test_ids_with_slashes_and_other_awkward_characters_are_reachable(
    client: httpx.Client, db: Database
) -> None:
    """Any printable id can be read back, percent-encoded as one path segment."""
    accounts = [{"account_id": i, "handle": f"h{n}"} for n, i in enumerate(AWKWARD_IDS)]
    assert client.post("/v1/accounts", json={"accounts": accounts}).json()["rejected"] == []
    reports = [report(f"e{n}", target_id=i) for n, i in enumerate(AWKWARD_IDS)]
    assert client.post("/v1/reports", json={"reports": reports}).json()["accepted"] == len(reports)
    for account_id in AWKWARD_IDS:
        path = f"/v1/accounts/{quote(account_id, safe='')}"
        metadata = client.get(path)
        assert metadata.status_code == 200, (account_id, metadata.text)
        assert metadata.json()["account_id"] == account_id
        risk = client.get(f"{path}/risk")
        assert risk.status_code == 200, (account_id, risk.text)
        assert risk.json()["account_id"] == account_id
    # "x/risk" is an account of its own, not the risk of "x".
    assert client.get("/v1/accounts/x").status_code == 404
    # The length limit holds on the id as meant, not on its encoding.
    assert client.get(f"/v1/accounts/{quote('/' * 128, safe='')}").status_code == 404
    assert client.get(f"/v1/accounts/{'a' * 129}").status_code == 422


@pytest.mark.parametrize(
    ("raw", "decoded", "routed"),
    [
        (b"/v1/accounts/a%2Fb/risk", "/v1/accounts/a/b/risk", "/v1/accounts/a%2Fb/risk"),
        (b"/v1/accounts/50%25", "/v1/accounts/50%", "/v1/accounts/50%25"),
        (b"/v1/accounts/a%20b", "/v1/accounts/a b", "/v1/accounts/a b"),
        ("/v1/accounts/ح".encode(), "/v1/accounts/ح", "/v1/accounts/ح"),
        (None, "/v1/accounts/a%41", "/v1/accounts/a%2541"),
    ],
)
def test_paths_are_decoded_one_segment_at_a_time(
    raw: bytes | None, decoded: str, routed: str
) -> None:
    assert routing_path(raw, decoded) == routed
