"""Invariants of the simulator on every scenario: referential integrity, truth that
matches the reports, published sizes, and determinism."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import pytest

from app.datasets import read_entities, read_truth
from app.tools.simulate import SCENARIOS, World, generate
from app.tools.simulate.output import write_world

SCALE = 0.25


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module", params=list(SCENARIOS))
def world(request: pytest.FixtureRequest) -> World:
    return generate(SCENARIOS[request.param], seed=7, scale=SCALE)


def test_every_reference_exists(world: World) -> None:
    accounts = {a["account_id"] for a in world.accounts}
    assert len(accounts) == len(world.accounts)
    posts = {p["post_id"]: p for p in world.posts}
    for report in world.reports:
        assert report["reporter_id"] in accounts and report["target_id"] in accounts
        assert report.get("content_id") is None or report["content_id"] in posts
    for edge in world.edges:
        assert edge["src"] in accounts and edge["dst"] in accounts and edge["src"] != edge["dst"]
    for post in world.posts:
        assert post["author_id"] in accounts
        assert all(m in accounts for m in post.get("mentions", []))
    for decision in world.decisions:
        assert decision["target_id"] in accounts
    truth = world.truth
    assert set(truth["tiers"]) <= accounts
    assert set(truth["victims"]) | set(truth["violators"]) <= accounts
    for pair in truth["recreated"]:
        assert {pair["account_id"], pair["recreated_from"]} <= accounts


def test_reshares_point_to_earlier_posts(world: World) -> None:
    posts = {p["post_id"]: p for p in world.posts}
    reshares = [p for p in world.posts if "reshare_of" in p]
    assert reshares
    for post in reshares:
        original = posts[post["reshare_of"]]
        assert epoch(original["created_at"]) <= epoch(post["created_at"])


def test_truth_waves_match_the_reports(world: World) -> None:
    filed: dict[tuple[str, str], list[float]] = defaultdict(list)
    for report in world.reports:
        filed[(report["reporter_id"], report["target_id"])].append(epoch(report["created_at"]))
    waves = world.truth["waves"]
    assert any(w["orchestrated"] for w in waves) and any(not w["orchestrated"] for w in waves)
    for wave in waves:
        start, end = epoch(wave["start"]), epoch(wave["end"])
        assert start <= end
        assert wave["report_count"] >= len(wave["reporters"]) > 0
        for reporter in wave["reporters"]:
            times = filed[(reporter, wave["target_id"])]
            assert any(start <= t <= end for t in times), (wave["wave_id"], reporter)
        if wave["orchestrated"]:
            assert wave["orchestrators"]
            assert all(world.truth["tiers"].get(o) == 2 for o in wave["orchestrators"])


def test_accounts_report_only_while_they_exist(world: World) -> None:
    created = {a["account_id"]: epoch(a["created_at"]) for a in world.accounts}
    suspended = {
        a["account_id"]: epoch(a["status_changed_at"])
        for a in world.accounts
        if a["status"] == "suspended"
    }
    for report in world.reports:
        at = epoch(report["created_at"])
        assert created[report["reporter_id"]] <= at
        assert at < suspended.get(report["reporter_id"], float("inf"))


def test_sizes_follow_the_configuration(world: World) -> None:
    scenario = world.scenario
    tiers = list(world.truth["tiers"].values())
    assert tiers.count(1) == scenario.scaled(scenario.tier1, SCALE)
    assert tiers.count(2) == scenario.scaled(scenario.tier2, SCALE)
    assert tiers.count(3) >= scenario.scaled(scenario.tier3, SCALE)
    supporters = {a for a, t in world.truth["tiers"].items() if t == 3}
    followers = [a["followers_count"] for a in world.accounts if a["account_id"] in supporters]
    assert median(followers) == pytest.approx(scenario.supporter_follower_median, rel=0.3)
    z = math.log(500 / scenario.supporter_follower_median) / scenario.supporter_follower_sigma
    under_500 = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert np.mean(np.array(followers) < 500) == pytest.approx(under_500, abs=0.08)
    if scenario.name == "baseline":
        assert under_500 == pytest.approx(0.73, abs=0.05)  # published: 73% under 500
    retweets = sum(1 for p in world.posts if "reshare_of" in p) / len(world.posts)
    assert 0.2 < retweets < 0.95


def test_recreated_accounts_return_after_suspension_under_a_variant_handle(world: World) -> None:
    accounts = {a["account_id"]: a for a in world.accounts}
    assert world.truth["recreated"]
    for pair in world.truth["recreated"]:
        new, old = accounts[pair["account_id"]], accounts[pair["recreated_from"]]
        assert old["status"] == "suspended"
        assert epoch(old["status_changed_at"]) < epoch(new["created_at"])
        assert new["handle"] != old["handle"]
        assert new["handle"].replace("_", "").rstrip("0123456789") == old["handle"].replace(
            "_", ""
        ).rstrip("0123456789")


def wave_sizes(world: World, orchestrated: bool) -> list[int]:
    return [w["report_count"] for w in world.truth["waves"] if w["orchestrated"] is orchestrated]


def test_scenario_specific_phenomena(world: World) -> None:
    waves = world.truth["waves"]
    orchestrated = [w for w in waves if w["orchestrated"]]
    duration = [epoch(w["end"]) - epoch(w["start"]) for w in orchestrated]
    name = world.scenario.name
    if name in ("offplatform", "hidden"):
        assert all(w["directive_post_id"] is None for w in orchestrated)
    elif name == "spraying":
        assert 0 < sum(1 for w in orchestrated if w["directive_post_id"]) < len(orchestrated)
    else:
        assert all(w["directive_post_id"] for w in orchestrated)
    if name in ("slow_waves", "hidden"):
        assert median(duration) > 12 * 3600
    else:
        assert median(duration) < 6 * 3600
    if name in ("small_cells", "spraying"):
        assert max(wave_sizes(world, True)) <= 15
    if name == "spraying":  # a few cells, each striking many victims
        assert len({w["orchestrators"][0] for w in orchestrated}) <= 4
        assert len({w["target_id"] for w in orchestrated}) > len(orchestrated) / 2
    if name == "hidden":  # several reasons per campaign, no shared text
        reasons = [
            len({r["reason"] for r in world.reports if r["target_id"] == w["target_id"]})
            for w in orchestrated[:10]
        ]
        assert median(reasons) >= 2
    if name == "huge_organic":
        huge = [w for w in waves if not w["orchestrated"] and w["report_count"] >= 750]
        assert huge and min(epoch(w["end"]) - epoch(w["start"]) for w in huge) < 2 * 86400
        assert max(wave_sizes(world, False)) > max(wave_sizes(world, True))
    if name == "bystanders":
        check_bystanders(world)
    supporters = {a for a, t in world.truth["tiers"].items() if t == 3}
    ages = [
        epoch(world.truth["period"]["start"]) - epoch(a["created_at"])
        for a in world.accounts
        if a["account_id"] in supporters
    ]
    if name in ("old_accounts", "hidden"):
        assert median(ages) > 365 * 86400
    else:
        assert median(ages) < 120 * 86400


def check_bystanders(world: World) -> None:
    """Bystanders follow and retweet the officials but are followed by ordinary users;
    lookalikes are named like a suspended supporter and sign up after the suspension;
    wrong labels sit on ordinary accounts."""
    truth = world.truth
    officials = {a for a, t in truth["tiers"].items() if t == 1}
    watchers = {b["account_id"] for b in truth["bystanders"] if b["kind"] != "viral_retweeter"}
    assert watchers and not watchers & set(truth["tiers"])
    follows = [e for e in world.edges if e["kind"] == "follow"]
    assert all(any(e["src"] == w and e["dst"] in officials for e in follows) for w in watchers)
    audience = [e["src"] for e in follows if e["dst"] in watchers]
    assert sum(a not in truth["tiers"] for a in audience) > 0.9 * len(audience)
    retweets = {(e["src"], e["dst"]) for e in world.edges if e["kind"] == "retweet"}
    assert sum(1 for s, d in retweets if s in watchers and d in officials) >= len(watchers)
    accounts = {a["account_id"]: a for a in world.accounts}
    suspended = [a for a in world.accounts if a["status"] == "suspended"]
    stems = {a["handle"].replace("_", "").rstrip("0123456789") for a in suspended}
    lookalikes = [accounts[a] for a in truth["lookalikes"]]
    assert lookalikes and all(
        a["handle"].replace("_", "").rstrip("0123456789") in stems for a in lookalikes
    )
    assert not {a["account_id"] for a in lookalikes} & {r["account_id"] for r in truth["recreated"]}
    assert truth["wrongly_labelled"]
    assert all(
        accounts[a]["labels"] == ["extremist"] and a not in truth["tiers"]
        for a in truth["wrongly_labelled"]
    )


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_data_set(tmp_path: Path) -> None:
    scenario = SCENARIOS["baseline"]
    for name in ("a", "b"):
        write_world(generate(scenario, seed=3, scale=0.1), tmp_path / name)
    write_world(generate(scenario, seed=4, scale=0.1), tmp_path / "c")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_written_folder_reads_back(tmp_path: Path) -> None:
    world = generate(SCENARIOS["baseline"], seed=2, scale=0.1)
    counts = write_world(world, tmp_path)
    for kind, count in counts.items():
        rows: list[dict[str, Any]] = list(read_entities(tmp_path, kind))
        assert len(rows) == count == len(getattr(world, kind))
    truth = read_truth(tmp_path)
    assert truth["counts"] == counts and truth["parameters"]["name"] == "baseline"
