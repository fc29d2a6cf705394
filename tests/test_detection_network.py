"""Stage: the supporter network, its tiers and hubs, on a hand-made graph and on
simulated worlds of several families."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.detection.attribution import Attribution
from app.detection.data import Data, build_data
from app.detection.network import Network, find_network, tie_matrices
from app.detection.pipeline import analyze
from app.detection.scores import load_models
from app.detection.shapes import shape
from app.tools.evaluate import bystander_metrics, tier_metrics
from app.tools.simulate import SCENARIOS, generate

NO_ORDERS = Attribution(
    np.empty(0, dtype=np.int64),
    np.empty(0, dtype=np.int64),
    np.empty(0),
    np.empty(0, dtype=bool),
    np.empty(0, dtype=np.int64),
)


def hand_made(
    more_edges: tuple[tuple[str, str, str], ...] = (), reports: list[dict[str, Any]] | None = None
) -> tuple[Data, np.ndarray]:
    """Two officials and a supervisor, two hubs, 40 supporters (half of them reporters
    in orchestrated waves) who also follow a celebrity, and 60 ordinary accounts; with
    ``more_edges`` (src, dst, kind) and ``reports``."""
    officials = ["chief", "wilaya1", "wilaya2"]
    hubs = ["hubA", "hubB"]
    supporters = [f"s{i}" for i in range(40)]
    ordinary = [f"o{i}" for i in range(60)]
    edges: list[dict[str, Any]] = []

    def tie(src: str, dst: str, kind: str = "follow") -> None:
        edges.append({"src": src, "dst": dst, "kind": kind})

    for o in officials[1:]:
        tie(o, "chief", "retweet")
        tie("chief", o)
    for h in hubs:
        for o in officials:
            tie(h, o, "retweet")
    for i, s in enumerate(supporters):
        hub = hubs[i % 2]
        tie(s, hub)
        tie(s, hub, "retweet")
        for o in officials:
            tie(s, o, "retweet")
        for step in (1, 3, 7):
            tie(s, supporters[(i + step) % 40])
        tie(s, "celebrity")
    for i, o in enumerate(ordinary):
        tie(o, "celebrity")
        for step in (1, 3, 7):
            tie(o, ordinary[(i + step) % 60])
    tie("o0", "s0")  # an ordinary account that follows one supporter
    for src, dst, kind in more_edges:
        tie(src, dst, kind)
    data = build_data(
        accounts=[{"account_id": a} for a in ["celebrity"]], edges=edges, reports=reports or []
    )
    risk = np.zeros(len(data.accounts))
    index = {a: i for i, a in enumerate(data.accounts.ids)}
    for s in supporters[::2]:
        risk[index[s]] = 0.95
    return data, risk


def run_stage(data: Data, risk: np.ndarray, target_risk: np.ndarray | None = None) -> Network:
    ties, amplifications = tie_matrices(data)
    return find_network(
        data,
        ties,
        amplifications,
        risk,
        np.zeros(len(risk)) if target_risk is None else target_risk,
        NO_ORDERS,
        np.empty(0, bool),
        load_models().tier,
    )


def test_tiers_follow_the_direction_of_amplification() -> None:
    data, risk = hand_made()
    network = run_stage(data, risk)
    tier = dict(zip(data.accounts.ids, network.tier.tolist(), strict=True))
    assert {a for a, t in tier.items() if t == 1} == {"chief", "wilaya1", "wilaya2"}
    assert {a for a, t in tier.items() if t == 2} == {"hubA", "hubB"}
    # Every supporter, reporter or not, is tier 3; the celebrity they follow as
    # camouflage and the ordinary accounts are outside.
    assert all(tier[f"s{i}"] == 3 for i in range(40))
    assert tier["celebrity"] == 0 and all(tier[f"o{i}"] == 0 for i in range(60))
    hub_of = {
        data.accounts.ids[a]: data.accounts.ids[h] for a, h in enumerate(network.hub) if h >= 0
    }
    assert all(hub_of[f"s{i}"] == ("hubA", "hubB")[i % 2] for i in range(40))
    assert np.all((network.confidence > 0) == (network.tier > 0))


def test_victims_are_never_members_and_no_seeds_means_no_network() -> None:
    data, risk = hand_made()
    under_attack = np.zeros(len(risk))
    under_attack[data.accounts.ids.index("hubA")] = 0.9
    network = run_stage(data, risk, under_attack)
    assert network.tier[data.accounts.ids.index("hubA")] == 0
    assert not run_stage(data, np.zeros(len(risk))).tier.any()


def test_an_account_the_network_appears_to_strike_is_no_supporter() -> None:
    """A supporter-looking account reported in waves that look partly orchestrated
    (target_risk 0.3, under the hold) is kept out of tier 3; a source reported that much
    (officials are reported organically for what they post) keeps its tier."""
    data, risk = hand_made()
    struck = np.zeros(len(risk))
    struck[data.accounts.ids.index("s1")] = 0.3
    struck[data.accounts.ids.index("hubB")] = 0.3
    network = run_stage(data, risk, struck)
    tier = dict(zip(data.accounts.ids, network.tier.tolist(), strict=True))
    assert tier["s1"] == 0 and network.confidence[data.accounts.ids.index("s1")] == 0
    assert tier["hubB"] == 2 and tier["s3"] == 3


def test_a_supporter_shows_conduct_of_its_own() -> None:
    """An analyst follows the officials, both hubs and some supporters (whom she
    watches), and ten supporters follow her: on ties alone she looks like one of them.
    Unreported, ties decide. Reported once, ties alone are not enough: she is in tier 3
    only if she amplifies the network; reported by six accounts (a campaign nothing
    flagged: target risk 0), only if she amplifies it at least twice."""
    watched = [("analyst", a, "follow") for a in ("chief", "wilaya1", "hubA", "hubB")]
    watched += [("analyst", f"s{i}", "follow") for i in range(0, 12, 2)]
    watched += [(f"s{i}", "analyst", "follow") for i in range(1, 21, 2)]
    reports = [
        {
            "event_id": f"r{i}",
            "reporter_id": f"s{i}",
            "target_id": "analyst",
            "reason": "spam",
            "created_at": 1_500_000_000 + 3_600 * i,
        }
        for i in range(6)
    ]
    once = (("analyst", "chief", "retweet"),)
    twice = (*once, ("analyst", "hubA", "retweet"))

    def analyst_tier(more: tuple[tuple[str, str, str], ...], filed: list[dict[str, Any]]) -> int:
        data, risk = hand_made(more, filed)
        network = run_stage(data, risk)
        return int(network.tier[data.accounts.ids.index("analyst")])

    assert analyst_tier(tuple(watched), []) == 3
    assert analyst_tier(tuple(watched), reports[:1]) == 0
    assert analyst_tier(tuple(watched) + once, reports[:1]) == 3
    assert analyst_tier(tuple(watched) + once, reports) == 0
    assert analyst_tier(tuple(watched) + twice, reports) == 3


def test_labels_are_priors_and_a_cited_source_is_not_a_member() -> None:
    """An archive of posts only (as the real data). Labelled authors who do nothing but
    retweet one outside account are not members on the label alone; authors who also
    amplify one another are, and the outside account they all retweet (a wire service
    or an official: the data cannot tell) is cited, never put in a tier."""
    authors = [f"a{i}" for i in range(30)]
    posts = [{"post_id": "news", "author_id": "source", "created_at": 0}]
    posts += [
        {"post_id": f"rt{i}", "author_id": a, "created_at": 60 + i, "reshare_of": "news"}
        for i, a in enumerate(authors)
    ]
    accounts = [{"account_id": a, "labels": ["extremist"]} for a in authors]
    data = build_data(accounts=accounts, posts=posts)
    alone = run_stage(data, np.zeros(len(data.accounts)))
    assert not alone.tier.any()

    ring = [
        {"src": a, "dst": authors[(i + step) % 30], "kind": "retweet"}
        for i, a in enumerate(authors)
        for step in (1, 2, 5)
    ]
    data = build_data(accounts=accounts, posts=posts, edges=ring)
    network = run_stage(data, np.zeros(len(data.accounts)))
    tier = dict(zip(data.accounts.ids, network.tier.tolist(), strict=True))
    assert all(tier[a] == 3 for a in authors)
    source = data.accounts.ids.index("source")
    assert tier["source"] == 0 and network.cited[source]


@pytest.mark.parametrize(("family", "seed"), [("camouflage", 611), ("small_cells", 612)])
def test_tiers_on_simulated_worlds(family: str, seed: int) -> None:
    world = generate(SCENARIOS[family], seed=seed, scale=0.5)
    data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
    document = shape(analyze(data)).as_json()
    predicted = {a["account_id"]: a["tier"] for a in document["accounts"]}
    metrics = tier_metrics(data.accounts.ids, world.truth, predicted)
    assert metrics["tier_macro_f1"] >= 0.9
    assert metrics["tier_1_precision"] >= 0.9 and metrics["tier_2_precision"] >= 0.9
    hubs = document["network"]["hubs"]
    assert {h["account_id"] for h in hubs} == set(document["network"]["tiers"]["2"]["accounts"])
    # Every member says what the tier model read of it; no one else has any.
    assert all(bool(a["tier_evidence"]) == (a["tier"] is not None) for a in document["accounts"])


def test_bystanders_lookalikes_and_wrong_labels_are_never_members() -> None:
    """Journalists, researchers, outlets and monitors who follow, quote, mention and
    retweet the officials; users who retweeted a viral official post; lookalike
    sign-ups; 50 ordinary accounts wrongly labelled ``extremist``; victims: none is put
    in a tier at confidence >= 0.5, and the supporters are still found."""
    world = generate(SCENARIOS["bystanders"], seed=613, scale=1.0)
    data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
    predictions = {a.account_id: a for a in shape(analyze(data)).accounts}
    members = {a: r.tier_confidence for a, r in predictions.items() if r.tier is not None}
    found = bystander_metrics(world.truth, members)
    assert len(world.truth["wrongly_labelled"]) == 50 and len(world.truth["lookalikes"]) == 300
    assert found == {
        "bystanders_in_tiers": 0,
        "victims_in_tiers": 0,
        "lookalikes_in_tiers": 0,
        "wrongly_labelled_in_tiers": 0,
    }
    tiers = tier_metrics(
        data.accounts.ids, world.truth, {a: r.tier for a, r in predictions.items()}
    )
    assert tiers["tier_3_precision"] >= 0.95 and tiers["tier_3_recall"] >= 0.9
    assert tiers["tier_macro_f1"] >= 0.9


def test_conduct_lowers_the_share_of_ties_a_supporter_needs() -> None:
    """A supporter who follows two ordinary accounts as camouflage besides the chief,
    a wilaya and a hub has 43% of its weighted ties in the network, followed by eight
    supporters: a member only if it also amplifies the network (twice here), not on
    those ties alone."""
    ties = [("camo", a, "follow") for a in ("chief", "wilaya1", "hubA")]
    ties += [("camo", o, "follow") for o in ("o10", "o11")]
    ties += [(f"s{i}", "camo", "follow") for i in range(8)]
    amplifies = [("camo", "chief", "retweet"), ("camo", "hubA", "retweet")]

    def camo(edges: list[tuple[str, str, str]]) -> tuple[int, float]:
        data, risk = hand_made(tuple(edges))
        network = run_stage(data, risk)
        at = data.accounts.ids.index("camo")
        return int(network.tier[at]), float(network.share[at])

    tier, share = camo(ties)
    assert tier == 0 and 0.35 <= share < 0.5
    assert camo(ties + amplifies)[0] == 3


def test_an_official_is_a_hub_of_the_sources() -> None:
    """An account all supporters retweet, whose own ties and audience are supporters,
    is a source; one hub follows it and it follows no source: too few sources tie to it
    for an official (the hubs tie to three each), so it is tier 2, and the officials
    stay tier 1."""
    edges = [(f"s{i}", "outlet", "retweet") for i in range(40)]
    edges += [("outlet", f"s{i}", "follow") for i in range(10)]
    edges += [(f"s{i}", "outlet", "follow") for i in range(10, 20)]
    edges += [("hubA", "outlet", "follow")]
    data, risk = hand_made(tuple(edges))
    network = run_stage(data, risk)
    tier = dict(zip(data.accounts.ids, network.tier.tolist(), strict=True))
    assert tier["outlet"] == 2
    assert tier["chief"] == tier["wilaya1"] == tier["wilaya2"] == 1
