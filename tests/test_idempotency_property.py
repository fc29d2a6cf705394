"""Re-sending any mix of batches, in any order, leaves the same stored state."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.engine import Database
from tests.conftest import clear_database, snapshot

IDS = st.sampled_from([f"acct-{i}" for i in range(8)] + ["حساب-١", "ansar_3", "ansar_5"])
TIMES = st.integers(min_value=1_400_000_000, max_value=1_600_000_000)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)

account = st.fixed_dictionaries(
    {"account_id": IDS},
    optional={
        "handle": TEXT,
        "followers_count": st.integers(0, 10**6),
        "verified": st.booleans(),
        "labels": st.lists(
            st.sampled_from(["journalist", "government", "counter_extremism"]), max_size=2
        ),
        "status": st.sampled_from(["active", "suspended", "deleted"]),
        "created_at": TIMES,
    },
)
edge = st.fixed_dictionaries(
    {"src": IDS, "dst": IDS, "kind": st.sampled_from(["follow", "retweet", "mention"])},
    optional={"weight": st.integers(1, 50), "created_at": TIMES},
)
post = st.fixed_dictionaries(
    {
        "post_id": st.integers(0, 30).map(lambda i: f"post-{i}"),
        "author_id": IDS,
        "created_at": TIMES,
    },
    optional={
        "text": TEXT,
        "mentions": st.lists(IDS, max_size=3),
        "hashtags": st.lists(st.sampled_from(["حملة", "news"]), max_size=2),
    },
)
report = st.fixed_dictionaries(
    {
        "event_id": st.integers(0, 60).map(lambda i: f"ev-{i}"),
        "reporter_id": IDS,
        "target_id": IDS,
        "reason": st.sampled_from(["spam", "terrorism", "hate"]),
        "created_at": TIMES,
    },
    optional={"text": TEXT, "content_id": st.sampled_from(["c1", "c2"])},
)
decision = st.fixed_dictionaries(
    {
        "decision_id": st.integers(0, 10).map(lambda i: f"dec-{i}"),
        "target_id": IDS,
        "outcome": st.sampled_from(["violation", "no_violation"]),
        "decided_at": TIMES,
    }
)

KEYS = {
    "accounts": lambda x: x["account_id"],
    "edges": lambda x: (x["src"], x["dst"], x["kind"]),
    "posts": lambda x: x["post_id"],
    "reports": lambda x: x["event_id"],
    "decisions": lambda x: x["decision_id"],
}
STRATEGIES = {
    "accounts": account,
    "edges": edge,
    "posts": post,
    "reports": report,
    "decisions": decision,
}


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, list[Any]]]]:
    """A data set cut into batches (one version per key), and a shuffled mix of those
    batches and fragments of them, each sent at least once."""
    canonical: list[tuple[str, list[Any]]] = []
    for kind, strategy in STRATEGIES.items():
        items = draw(st.lists(strategy, min_size=1, max_size=12, unique_by=KEYS[kind]))
        cut = draw(st.integers(1, len(items)))
        canonical += [(kind, items[:cut]), *([(kind, items[cut:])] if items[cut:] else [])]
    fragments = [
        (kind, draw(st.lists(st.sampled_from(items), min_size=1, max_size=len(items))))
        for kind, items in draw(st.lists(st.sampled_from(canonical), max_size=6))
    ]
    mix = draw(
        st.permutations(
            canonical + fragments + draw(st.lists(st.sampled_from(canonical), max_size=4))
        )
    )
    return canonical, mix


def send(client: httpx.Client, sequence: list[tuple[str, list[Any]]]) -> None:
    for kind, items in sequence:
        answer = client.post(f"/v1/{kind}", json={kind: items}).json()
        assert answer["rejected"] == [], answer


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=batches())
def test_any_mix_of_resent_batches_gives_the_same_state(
    client: httpx.Client, db: Database, plan: Any
) -> None:
    canonical, mix = plan
    clear_database(db)
    send(client, canonical)
    expected = snapshot(db)
    clear_database(db)
    send(client, mix)
    assert snapshot(db) == expected
    send(client, canonical)
    assert snapshot(db) == expected
