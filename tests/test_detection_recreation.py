"""Stage: re-created accounts, on hand-made accounts and on simulated worlds."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.detection.data import Data, build_data
from app.detection.network import tie_matrices
from app.detection.pipeline import analyze
from app.detection.recreation import Recreations, handle_stem, inherit, link_recreations
from app.detection.scores import Reliability
from app.detection.shapes import shape
from app.simulate import SCENARIOS, generate

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


def test_a_variant_created_after_the_suspension_replaces_it_and_chains_link() -> None:
    hubs = [f"hub{i}" for i in range(5)]
    accounts = [
        account("a", "abu_talha3", T0, suspended=T0 + 10 * HOUR),
        account("b", "abu_talha4", T0 + 14 * HOUR, suspended=T0 + 40 * HOUR),
        account("c", "abu_talha_5", T0 + 41 * HOUR),
        # Same stem, but made before the suspension: not a replacement.
        account("early", "abutalha9", T0 - 100 * HOUR),
        # A variant made far too late.
        account("late", "abu_talha8", T0 + 30 * 24 * HOUR),
    ]
    edges = [{"src": s, "dst": h, "kind": "follow"} for s in ("a", "b", "c") for h in hubs]
    data = build_data(accounts=accounts, edges=edges)
    found = link_recreations(data, tie_matrices(data)[0])
    assert pairs_of(data, found) == {("b", "a"), ("c", "b")}
    assert found.score.min() == 1.0  # a variant handle and the very same follows


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


def test_without_statuses_a_variant_seen_after_the_old_one_went_silent_replaces_it() -> None:
    """An archive of posts (no statuses, no creation times): a variant first seen after
    another, within the longer window of that one's last sighting, is its successor,
    even while both are seen (operators keep spares); a handle seen only by mention
    counts too, and an account said to be active is no one's predecessor."""
    accounts = [
        {"account_id": h, "handle": h}
        for h in ("ummlina5", "ummlina6", "ummlina9", "warreporter1", "warreporter2", "fans2")
    ] + [{"account_id": "fan", "handle": "fan", "status": "active"}]
    posts = [
        post("p1", "ummlina5", 0),
        post("p2", "ummlina5", 20),
        post("p3", "fan", 30, mentions=("ummlina6",)),  # ummlina6 only ever named
        post("p4", "ummlina6", 24 * 10),
        post("p5", "ummlina9", 24 * 50),  # 40 days after ummlina6 went silent: too late
        post("p6", "warreporter1", 0),
        post("p7", "warreporter2", 5),  # a spare, seen while the first still posts
        post("p8", "warreporter1", 10),
        post("p9", "fans2", 40),  # after the active "fan": not its successor
    ]
    data = build_data(accounts=accounts, posts=posts)
    assert pairs_of(data, link_recreations(data, tie_matrices(data)[0])) == {
        ("ummlina6", "ummlina5"),
        ("warreporter2", "warreporter1"),
    }


def test_a_successor_inherits_its_predecessors_history_down_a_chain() -> None:
    found = Recreations(
        np.array([1, 2]), np.array([0, 1]), np.array([1.0, 1.0]), np.array([1.0, 1.0])
    )
    record = Reliability(np.array([10, 2, 1]), np.array([0, 1, 0]), np.array([8, 0, 1]))
    risk, inherited = inherit(found, np.array([0.9, 0.1, 0.2]), record)
    assert risk.tolist() == [0.9, 0.9, 0.9]
    assert inherited.reports.tolist() == [10, 12, 13]
    assert inherited.unfounded.tolist() == [8, 8, 9]
    assert record.reports.tolist() == [10, 2, 1]  # the input is left as it was


def test_recreations_in_simulated_worlds_and_the_account_documents() -> None:
    for family, seed in (("baseline", 404), ("small_cells", 405)):
        world = generate(SCENARIOS[family], seed=seed, scale=0.5)
        data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
        document = shape(analyze(data))
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
