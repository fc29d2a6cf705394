"""Scenario parameters: a baseline world and the named variations adversaries use.

Counts are for scale 1 and grow linearly with ``--scale`` (scale 10 gives about a
million reports). Defaults follow the published figures in docs/scenarios.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np


@dataclass(frozen=True)
class Scenario:
    """Every knob of the simulated world. Counts are per unit of scale."""

    name: str = "baseline"
    description: str = "Published structure: fast directed waves, organic waves, background."
    days: int = 28
    start: str = "2017-07-01T00:00:00Z"

    # Populations (per unit of scale).
    organic_users: int = 12_000
    communities: int = 12
    organic_follow_mean: float = 14.0
    new_account_share: float = 0.03
    tier1: int = 12
    tier2: int = 36
    tier3: int = 2_400
    hubs_per_supporter: tuple[int, int] = (1, 3)
    supporter_follow_supporters: int = 12
    supporter_follow_organic: int = 3
    organic_follow_supporter_prob: float = 0.04
    supporter_follower_median: float = 200.0
    supporter_follower_sigma: float = 1.75
    supporter_age_days_mean: float = 60.0
    # Ordinary accounts' own posts over the span, per account (Poisson mean); a
    # platform-sized graph has a few per account, the campaign families need none.
    organic_posts_per_account: float = 0.0
    victims: int = 120
    labelled_victim_share: float = 0.4
    violators: int = 150

    # Orchestrated waves.
    orchestrated_waves: int = 60
    participation: tuple[float, float] = (0.35, 0.8)
    extra_hub_share: float = 0.15
    wave_lag_minutes: tuple[float, float] = (5.0, 45.0)
    arrival_scale_minutes: tuple[float, float] = (10.0, 40.0)
    arrival_shape: float = 1.5
    reason_concentration: float = 0.9
    template_share: float = 0.8
    directive_share: float = 1.0
    cell_size: tuple[int, int] | None = None
    # How many reasons a campaign spreads its reports over (drawn in this range).
    campaign_reasons: tuple[int, int] = (1, 1)
    # Reports spread evenly over this many hours instead of arriving as a burst.
    arrival_spread_hours: tuple[float, float] | None = None
    # Cells that spray many targets: this many fixed cells file every wave (0: hubs).
    spray_cells: int = 0

    # Organic waves.
    organic_waves: int = 90
    organic_size_median: float = 150.0
    organic_size_sigma: float = 1.1
    organic_delay_median_minutes: float = 180.0
    organic_delay_sigma: float = 1.0
    official_target_share: float = 0.2
    huge_organic_waves: int = 0
    huge_organic_size: tuple[int, int] = (3_000, 6_000)
    huge_delay_median_minutes: float = 25.0

    # Background and decisions.
    background_reports: int = 70_000
    supporter_background_factor: float = 1.0
    supporters_join_organic_share: float = 0.0
    decided_victim_share: float = 0.5
    decided_violator_share: float = 0.5

    # Suspension and re-creation.
    suspended_supporter_share: float = 0.08
    recreated_share: float = 0.7

    # People near the network who are not in it (per unit of scale): journalists,
    # researchers, news outlets and monitors who follow, mention, quote and retweet the
    # official accounts; ordinary users who retweet viral official posts; new sign-ups
    # whose common names resemble suspended supporters' handles; ordinary accounts the
    # platform wrongly labelled ``extremist``.
    bystanders: int = 0
    viral_retweeters: int = 0
    lookalikes: int = 0
    wrong_labels: int = 0

    def scaled(self, count: int | float, scale: float) -> int:
        return max(1, round(count * scale))


BASELINE = Scenario()

SCENARIOS: dict[str, Scenario] = {
    "baseline": BASELINE,
    "slow_waves": replace(
        BASELINE,
        name="slow_waves",
        description="Directed waves spread over a day or two instead of minutes.",
        wave_lag_minutes=(30.0, 360.0),
        arrival_scale_minutes=(240.0, 600.0),
        arrival_shape=1.2,
    ),
    "camouflage": replace(
        BASELINE,
        name="camouflage",
        description="Supporters file many ordinary reports, join organic waves and follow "
        "popular organic accounts to hide among ordinary users.",
        supporter_background_factor=8.0,
        supporters_join_organic_share=0.3,
        supporter_follow_organic=15,
        reason_concentration=0.6,
        template_share=0.4,
    ),
    "old_accounts": replace(
        BASELINE,
        name="old_accounts",
        description="Brigades made of old, established accounts.",
        supporter_age_days_mean=1_500.0,
        supporter_follower_median=600.0,
    ),
    "offplatform": replace(
        BASELINE,
        name="offplatform",
        description="Orders are given off-platform: no directive post precedes the waves.",
        directive_share=0.0,
    ),
    "small_cells": replace(
        BASELINE,
        name="small_cells",
        description="Very small cells: 5 to 15 reporters per directed wave.",
        orchestrated_waves=150,
        cell_size=(5, 15),
    ),
    "huge_organic": replace(
        BASELINE,
        name="huge_organic",
        description="Some organic waves are huge and fast: thousands of reports in an hour.",
        huge_organic_waves=6,
        organic_follow_mean=18.0,
    ),
    "hidden": replace(
        BASELINE,
        name="hidden",
        description="Every evasion at once: waves spread over 12-48 hours, orders given "
        "off-platform, aged accounts with ordinary reporting histories, their own words, "
        "two to four reasons, half the reporters recruited outside the hub.",
        arrival_spread_hours=(12.0, 48.0),
        directive_share=0.0,
        supporter_age_days_mean=1_500.0,
        supporter_follower_median=600.0,
        supporter_background_factor=4.0,
        template_share=0.0,
        campaign_reasons=(2, 4),
        reason_concentration=1.0,
        extra_hub_share=1.0,
    ),
    "bystanders": replace(
        BASELINE,
        name="bystanders",
        description="Journalists, researchers, news outlets and monitors who follow, mention, "
        "quote and retweet the official accounts; ordinary users who retweet viral official "
        "posts; lookalike sign-ups named like suspended supporters; wrong extremist labels.",
        bystanders=150,
        viral_retweeters=600,
        lookalikes=300,
        wrong_labels=50,
    ),
    "spraying": replace(
        BASELINE,
        name="spraying",
        description="A few small cells each report a hundred or more targets with 3 to 10 "
        "reports apiece, so no target sees a large wave.",
        victims=450,
        orchestrated_waves=450,
        spray_cells=4,
        cell_size=(3, 10),
        directive_share=0.3,
    ),
    # Not a kind of campaign but a size: the analysis benchmark's graph-heavy world.
    "graph_heavy": replace(
        BASELINE,
        name="graph_heavy",
        description="The baseline's campaigns in a platform-sized graph: fourteen times the "
        "ordinary users, each following about 35 accounts and posting about 5 times (two "
        "in five reshares), and twice the background reports.",
        organic_users=170_000,
        organic_follow_mean=35.0,
        organic_posts_per_account=5.0,
        background_reports=150_000,
    ),
}
# Worlds that differ in size or density, not in how campaigns behave: no model is
# fitted or judged on them.
SIZE_VARIANTS = ("graph_heavy",)


def varied(seed: int) -> Scenario:
    """A baseline world whose campaign, supporter and organic knobs are drawn at random
    over and beyond the ranges the named scenarios span, for fitting models that must
    hold on worlds nobody wrote down: campaigns mix the evasions at random, from crowds
    where every member joins most waves to crowds where each joins one or two."""
    rng = np.random.default_rng(seed)

    def log_uniform(low: float, high: float) -> float:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    low_participation = rng.uniform(0.02, 0.5)
    first_reason_count = int(rng.integers(2, 5))
    slowness = log_uniform(1.0, 15.0)
    cells = rng.random() < 0.2
    return replace(
        BASELINE,
        name=f"varied-{seed}",
        description="Knobs drawn at random (training worlds).",
        tier3=int(rng.integers(1_200, 4_800)),
        supporter_age_days_mean=log_uniform(30.0, 2_000.0),
        supporter_follower_median=log_uniform(100.0, 1_000.0),
        supporter_background_factor=log_uniform(1.0, 8.0),
        supporters_join_organic_share=float(rng.uniform(0.0, 0.3)),
        supporter_follow_organic=int(rng.integers(3, 16)),
        orchestrated_waves=int(rng.integers(30, 121)) * (2 if cells else 1),
        participation=(low_participation, min(0.9, low_participation + rng.uniform(0.05, 0.35))),
        extra_hub_share=float(rng.uniform(0.0, 1.0)),
        cell_size=(int(rng.integers(3, 9)), int(rng.integers(10, 16))) if cells else None,
        wave_lag_minutes=(5.0 * slowness, 45.0 * slowness),
        arrival_scale_minutes=(10.0 * slowness, 40.0 * slowness),
        arrival_spread_hours=(
            (float(rng.uniform(1.0, 12.0)), float(rng.uniform(14.0, 48.0)))
            if rng.random() < 0.4
            else None
        ),
        reason_concentration=float(rng.uniform(0.5, 1.0)),
        campaign_reasons=(1, 1) if rng.random() < 0.5 else (2, first_reason_count),
        template_share=float(rng.uniform(0.0, 0.9)),
        directive_share=float(rng.choice([0.0, rng.uniform(0.0, 1.0), 1.0])),
        organic_size_median=log_uniform(60.0, 300.0),
        official_target_share=float(rng.uniform(0.1, 0.3)),
        huge_organic_waves=int(rng.choice(np.array([0, rng.integers(2, 7)]))),
    )


def scenario_names() -> list[str]:
    return list(SCENARIOS)


def describe(scenario: Scenario) -> dict[str, object]:
    return {f.name: getattr(scenario, f.name) for f in fields(scenario)}
