"""Stage: re-created accounts, on hand-made accounts and on simulated worlds."""

from __future__ import annotations

from typing import Any

from app.detection.data import build_data
from app.detection.pipeline import analyze
from app.detection.recreation import handle_stem, link_recreations
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
    found = link_recreations(data)
    ids = data.accounts.ids
    pairs = {(ids[n], ids[o]) for n, o in zip(found.new.tolist(), found.old.tolist(), strict=True)}
    assert pairs == {("b", "a"), ("c", "b")}
    assert found.score.min() == 1.0  # a variant handle and the very same follows


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
