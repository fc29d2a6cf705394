"""Stage: re-created accounts, on hand-made accounts and on simulated worlds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from app.detection.data import Data, build_data
from app.detection.pipeline import analyze
from app.detection.recreation import (
    RecreationParams,
    Recreations,
    contact_matrix,
    handle_stem,
    inherit,
    link_recreations,
    shared_tie_chance,
)
from app.detection.scores import Reliability
from app.detection.shapes import shape
from app.tools.evaluate import recreation_metrics
from app.tools.simulate import SCENARIOS, generate

T0 = 1_500_000_000.0
HOUR = 3_600.0


def account(account_id: str, handle: str, created: float, suspended: float | None = None) -> Any:
    row: dict[str, Any] = {"account_id": account_id, "handle": handle, "created_at": created}
    if suspended is not None:
        row |= {"status": "suspended", "status_changed_at": suspended}
    return row


def test_handle_variants_share_a_stem() -> None:
    assert handle_stem("ibn_iraqi_298") == handle_stem("Ibn_Iraaqi299") == "ibniraqi"
    assert handle_stem("name3") == handle_stem("name_5")
    assert handle_stem("ab12") is None and handle_stem(None) is None


def crowd(accounts: int = 60, pages: int = 80, each: int = 8, seed: int = 0) -> list[Any]:
    """Ordinary accounts following pages at random, nearly all of them the three
    celebrities too: what unrelated accounts share."""
    rng = np.random.default_rng(seed)
    edges = [
        {"src": f"user{u}", "dst": f"page{p}", "kind": "follow"}
        for u in range(accounts)
        for p in rng.choice(pages, size=each, replace=False).tolist()
    ]
    edges += [
        {"src": f"user{u}", "dst": f"celebrity{c}", "kind": "follow"}
        for u in range(accounts)
        for c in range(3)
        if rng.random() < 0.9
    ]
    return edges


def follows(account_id: str, pages: list[str]) -> list[Any]:
    return [{"src": account_id, "dst": p, "kind": "follow"} for p in pages]


def test_a_variant_that_follows_what_the_suspended_account_followed_replaces_it() -> None:
    """Variants created after a suspension that follow the same obscure accounts link,
    chains included; a variant with the right name, time and only popular or chance
    follows in common (a lookalike sign-up) does not, nor one made before the
    suspension or far too late."""
    peers = [f"peer{i}" for i in range(12)]
    accounts = [
        account("a", "abu_talha3", T0, suspended=T0 + 10 * HOUR),
        account("b", "abu_talha4", T0 + 14 * HOUR, suspended=T0 + 40 * HOUR),
        account("c", "abu_talha_5", T0 + 41 * HOUR),
        account("lookalike", "abu_talha6", T0 + 42 * HOUR),
        account("early", "abutalha9", T0 - 100 * HOUR),
        account("late", "abu_talha8", T0 + 30 * 24 * HOUR),
    ]
    edges = crowd() + follows("a", peers) + follows("b", peers[:11]) + follows("c", peers[1:])
    edges += follows("early", peers) + follows("late", peers)
    # The lookalike follows the celebrities, as the old account did too.
    celebrities = ["celebrity0", "celebrity1", "celebrity2"]
    edges += follows("lookalike", [*celebrities, "page4"]) + follows("b", celebrities)
    data = build_data(accounts=accounts, edges=edges)
    found = link_recreations(data, contact_matrix(data))
    assert pairs_of(data, found) == {("b", "a"), ("c", "b")}
    assert found.inherits.all()  # eleven obscure accounts in common: no chance


def test_shared_popular_follows_are_chance_and_obscure_ones_are_not() -> None:
    celebrities = ["celebrity0", "celebrity1", "celebrity2"]
    edges = crowd() + follows("old", [*celebrities, "x", "y"])
    edges += follows("popular", [*celebrities, "page3"])
    edges += follows("obscure", ["x", "y", "page3"])
    data = build_data(edges=edges)
    ties = contact_matrix(data)
    holders = np.asarray(ties.sum(axis=0)).ravel()
    index = data.accounts.ids.index
    by_chance = shared_tie_chance(ties, holders, index("old"), index("popular"))
    by_conduct = shared_tie_chance(ties, holders, index("old"), index("obscure"))
    assert by_conduct < 0.01 < by_chance
    assert shared_tie_chance(ties, holders, index("old"), index("user1")) >= by_conduct


def pairs_of(data: Data, found: Recreations) -> set[tuple[str, str]]:
    ids = data.accounts.ids
    return {(ids[n], ids[o]) for n, o in zip(found.new.tolist(), found.old.tolist(), strict=True)}


def post(post_id: str, author: str, hours: float, mentions: tuple[str, ...] = ()) -> Any:
    return {
        "post_id": post_id,
        "author_id": author,
        "created_at": T0 + hours * HOUR,
        "mentions": list(mentions),
    }


def test_without_statuses_a_variant_seen_after_the_old_one_went_quiet_replaces_it() -> None:
    """An archive of posts (no statuses, no creation times): a variant first seen after
    another stopped posting, within the longer window, that follows what it followed, is
    its successor; a spare seen while the first still posts is not, nor one seen only
    by mention (nothing of its own conduct), nor one after an account said to be
    active."""
    peers = [f"peer{i}" for i in range(6)]
    handles = ("ummlina5", "ummlina6", "ummlina9", "warreporter1", "warreporter2", "fans2")
    accounts = [{"account_id": h, "handle": h} for h in handles]
    accounts += [{"account_id": "fan", "handle": "fan", "status": "active"}]
    posts = [
        post("p1", "ummlina5", 0),
        post("p2", "ummlina5", 20),
        post("p4", "ummlina6", 24 * 10),
        post("p5", "ummlina9", 24 * 50),  # 40 days after ummlina6 went silent: too late
        post("p6", "warreporter1", 0),
        post("p7", "warreporter2", 5),  # a spare, seen while the first still posts
        post("p8", "warreporter1", 10),
        post("p9", "fans2", 40),  # after the active "fan": not its successor
    ]
    edges = crowd()
    for h in (*handles, "fan"):
        edges += follows(h, peers)
    data = build_data(accounts=accounts, posts=posts, edges=edges)
    assert pairs_of(data, link_recreations(data, contact_matrix(data))) == {
        ("ummlina6", "ummlina5")
    }
    named_only = [post("p3", "fan", 30, mentions=("ummlina7",))]
    accounts += [{"account_id": "ummlina7", "handle": "ummlina7"}]
    data = build_data(accounts=accounts, posts=posts[:2] + named_only, edges=edges)
    assert pairs_of(data, link_recreations(data, contact_matrix(data))) == set()


def test_a_successor_inherits_its_predecessors_history_down_a_chain() -> None:
    chance = np.array([1e-9, 1e-9, 1e-3])
    found = Recreations(
        np.array([1, 2, 3]),
        np.array([0, 1, 2]),
        np.ones(3),
        chance,
        chance <= RecreationParams().inherit_tail,
    )
    record = Reliability(np.array([10, 2, 1, 0]), np.array([0, 1, 0, 0]), np.array([8, 0, 1, 0]))
    risk, inherited = inherit(found, np.array([0.9, 0.1, 0.2, 0.0]), record)
    # The third link is too weak to hand anything down.
    assert risk.tolist() == [0.9, 0.9, 0.9, 0.0]
    assert inherited.reports.tolist() == [10, 12, 13, 0]
    assert inherited.unfounded.tolist() == [8, 8, 9, 0]
    assert record.reports.tolist() == [10, 2, 1, 0]  # the input is left as it was


def test_recreations_in_simulated_worlds_and_the_account_documents() -> None:
    for family, seed in (("baseline", 404), ("small_cells", 405)):
        world = generate(SCENARIOS[family], seed=seed, scale=0.5)
        data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
        document = shape(analyze(data)).as_json()
        predicted = {
            (a["account_id"], a["recreated_from"])
            for a in document["accounts"]
            if a["recreated_from"] is not None
        }
        truth = {(p["account_id"], p["recreated_from"]) for p in world.truth["recreated"]}
        assert truth and len(predicted & truth) >= 0.9 * len(predicted)
        assert len(predicted & truth) >= 0.8 * len(truth)
        linked = next(a for a in document["accounts"] if a["recreated_from"] is not None)
        assert any("re-creation" in e for e in linked["explanations"])


def without_status(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in a.items() if k not in ("status", "status_changed_at")} for a in accounts
    ]


def test_lookalike_sign_ups_are_not_linked_with_or_without_statuses() -> None:
    """The bystanders world: lookalike sign-ups named like suspended supporters, made
    within days of the suspension. Links stay precise with statuses and without them
    (an archive), and a world with no re-creations gets no links at all."""
    scenario = SCENARIOS["bystanders"]
    for recreated_share in (scenario.recreated_share, 0.0):
        world = generate(replace(scenario, recreated_share=recreated_share), seed=611, scale=0.5)
        assert len(world.truth["lookalikes"]) == 150
        for accounts in (world.accounts, without_status(world.accounts)):
            data = build_data(accounts, world.edges, world.posts, world.reports, world.decisions)
            found = link_recreations(data, contact_matrix(data))
            ids = data.accounts.ids
            metrics = recreation_metrics(
                world.truth, {ids[n]: ids[o] for n, o in zip(found.new, found.old, strict=True)}
            )
            assert metrics["lookalikes_linked"] == 0
            if recreated_share:
                assert metrics["recreation_precision"] >= 0.95
                assert metrics["recreation_recall"] >= 0.8
            else:
                assert len(found.new) == 0
