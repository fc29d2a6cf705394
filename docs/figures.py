"""Draw the pictures of docs/scenarios.md from simulated data, and of docs/real-data.md
from the real tweets when they are next to the repository.

    pip install -e ".[docs]" && python docs/figures.py

Writes docs/img/wave_arrivals.png, docs/img/three_tiers.png and docs/img/real_network.png.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from app.datasets import load_data
from app.detection.pipeline import analyze
from app.tools.importers.tweets import import_tweets
from app.tools.simulate import SCENARIOS, World, generate

OUT = Path(__file__).parent / "img"
REAL = Path(__file__).resolve().parents[2] / "shared/data/isis-twitter-kaggle/tweets.csv"
COLOURS = {1: "#c0392b", 2: "#e67e22", 3: "#2e86c1", 0: "#b3b6b7"}


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def arrivals(
    world: World, wave: dict[str, object], bin_minutes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Reports per bin against hours since the wave's first report."""
    start, end = epoch(str(wave["start"])), epoch(str(wave["end"]))
    reporters = set(wave["reporters"])  # type: ignore[arg-type]
    times = np.array(
        [
            epoch(r["created_at"])
            for r in world.reports
            if r["target_id"] == wave["target_id"]
            and r["reporter_id"] in reporters
            and start <= epoch(r["created_at"]) <= end
        ]
    )
    edges = np.arange(start, end + bin_minutes * 60, bin_minutes * 60)
    counts, _ = np.histogram(times, bins=edges)
    return (edges[:-1] - start) / 3600, counts


def typical(world: World, orchestrated: bool) -> dict[str, object]:
    waves = [w for w in world.truth["waves"] if w["orchestrated"] is orchestrated]
    sizes = np.array([w["report_count"] for w in waves])
    return waves[int(np.argsort(sizes)[int(len(sizes) * 0.8)])]


def wave_figure(baseline: World, slow: World, huge: World) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), dpi=110)
    for ax, (title, lines, bin_minutes) in zip(
        axes,
        (
            (
                "Baseline: a directed wave and an organic wave",
                [(baseline, True), (baseline, False)],
                10,
            ),
            (
                "Variations: a slow directed wave and a huge organic wave",
                [(slow, True), (huge, False)],
                30,
            ),
        ),
        strict=True,
    ):
        for world, orchestrated in lines:
            wave = (
                typical(world, orchestrated)
                if world is not huge
                else max(
                    (w for w in world.truth["waves"] if not w["orchestrated"]),
                    key=lambda w: w["report_count"],
                )
            )
            hours, counts = arrivals(world, wave, bin_minutes)
            label = (
                f"{'orchestrated' if orchestrated else 'organic'} ({wave['report_count']} reports)"
            )
            ax.step(
                hours,
                counts,
                where="post",
                color="#c0392b" if orchestrated else "#2e86c1",
                label=label,
            )
        ax.set_title(title, fontsize=10)
        if bin_minutes == 30:
            ax.set_yscale("log")
        ax.set_xlabel("hours since the first report")
        ax.set_ylabel(f"reports per {bin_minutes} minutes")
        ax.legend(frameon=False)
        ax.set_xlim(left=0)
    fig.tight_layout()
    fig.savefig(OUT / "wave_arrivals.png")
    plt.close(fig)


def tier_figure(world: World) -> None:
    """Tier 1 in the middle, the hubs (tier 2) on a ring, each hub's supporters in a
    fan outside it, a sample of organic users on the rim."""
    tiers = world.truth["tiers"]
    rng = np.random.default_rng(0)
    tier1 = [a for a, t in tiers.items() if t == 1]
    hubs = sorted(world.truth["hubs"], key=lambda h: h["account_id"])
    position: dict[str, tuple[float, float]] = {}
    for i, account in enumerate(tier1):
        angle = 2 * np.pi * i / len(tier1)
        radius = 0.0 if account == world.truth["supervisor"] else 0.35
        position[account] = (radius * np.cos(angle), radius * np.sin(angle))
    members_shown: list[str] = []
    for k, hub in enumerate(hubs):
        angle = 2 * np.pi * k / len(hubs)
        position[hub["account_id"]] = (np.cos(angle), np.sin(angle))
        members = hub["members"]
        sample = rng.choice(members, size=min(12, len(members)), replace=False) if members else []
        for member in sample:
            spread = angle + rng.normal(0, 0.05)
            radius = 1.45 + rng.random() * 0.45
            position[member] = (radius * np.cos(spread), radius * np.sin(spread))
            members_shown.append(member)
    organic = [a["account_id"] for a in world.accounts if a["account_id"] not in tiers]
    sample0 = rng.choice(organic, size=80, replace=False).tolist()
    for account in sample0:
        angle, radius = rng.random() * 2 * np.pi, 2.3 + rng.random() * 0.3
        position[account] = (radius * np.cos(angle), radius * np.sin(angle))

    graph = nx.DiGraph()
    graph.add_nodes_from(position)
    for edge in world.edges:
        if (
            edge["kind"] in ("follow", "retweet")
            and edge["src"] in position
            and edge["dst"] in position
        ):
            graph.add_edge(edge["src"], edge["dst"])
    fig, ax = plt.subplots(figsize=(8.5, 8.5), dpi=110)
    nx.draw_networkx_edges(graph, position, ax=ax, alpha=0.08, arrows=False, width=0.6)
    groups = (
        (0, sample0, 10),
        (3, members_shown, 14),
        (2, [h["account_id"] for h in hubs], 70),
        (1, tier1, 140),
    )
    for tier, nodes, size in groups:
        nx.draw_networkx_nodes(
            graph, position, nodelist=nodes, node_color=COLOURS[tier], node_size=size, ax=ax
        )
    labels = {
        1: "tier 1: official accounts (supervisor in the centre)",
        2: "tier 2: supporting institutions, each a hub",
        3: "tier 3: supporters, beside their hub (sample)",
        0: "organic users (sample)",
    }
    finish_network(fig, ax, labels, "Simulated baseline network: follows and retweets")
    fig.savefig(OUT / "three_tiers.png")
    plt.close(fig)


def finish_network(fig: Any, ax: Any, labels: dict[int, str], title: str) -> None:
    """A legend of tier colours, the title, no axes."""
    for tier, label in labels.items():
        ax.scatter([], [], color=COLOURS[tier], label=label)
    ax.legend(loc="lower left", frameon=False, fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    fig.tight_layout()


def real_network_figure(csv_file: Path) -> None:
    """The supporter network the pipeline finds in the real tweets: tier 2 and the
    accounts the network cites (grey) on the inner ring, tier 3 outside; lines are
    retweets and mentions among them, each account sized by how many members amplify
    it."""
    with tempfile.TemporaryDirectory() as folder:
        import_tweets(csv_file, Path(folder))
        analysis = analyze(load_data(Path(folder)))
    data, network = analysis.data, analysis.network
    ids = data.accounts.ids
    graph = nx.Graph()
    shown = np.flatnonzero((network.tier > 0) | network.cited)
    graph.add_nodes_from(shown.tolist())
    visible = set(shown.tolist())
    for src, dst in zip(data.edges.src.tolist(), data.edges.dst.tolist(), strict=True):
        if src in visible and dst in visible:
            graph.add_edge(src, dst)
    inner = [a for a in shown.tolist() if network.tier[a] in (1, 2) or network.cited[a]]
    outer = [a for a in shown.tolist() if network.tier[a] == 3]
    shells = [sorted(inner, key=lambda a: ids[a]), sorted(outer, key=lambda a: ids[a])]
    position = nx.shell_layout(graph, nlist=[s for s in shells if s], scale=1.0)
    fig, ax = plt.subplots(figsize=(10, 10), dpi=110)
    nx.draw_networkx_edges(graph, position, ax=ax, alpha=0.06, width=0.5)
    for tier in (3, 2, 1, 0):
        nodes = [a for a in shown.tolist() if network.tier[a] == tier]
        sizes = [12 + 6 * network.amplified_by[a] for a in nodes]
        nx.draw_networkx_nodes(
            graph, position, nodelist=nodes, node_color=COLOURS[tier], node_size=sizes, ax=ax
        )
    nx.draw_networkx_labels(
        graph,
        {a: (x * 1.12, y * 1.12 + 0.02) for a, (x, y) in position.items()},
        labels={a: ids[a] for a in inner},
        font_size=7,
        ax=ax,
    )
    labels = {
        1: "tier 1: none (the sources' own ties are not in the data)",
        2: "tier 2 (inner ring): members amplified by many, hubs",
        3: "tier 3 (outer ring): authors tied into the network",
        0: "cited (inner ring, grey): amplified, not members by their own ties",
    }
    finish_network(
        fig, ax, labels, "Real data: the network found in 17,410 tweets (size: amplifiers)"
    )
    fig.savefig(OUT / "real_network.png")
    plt.close(fig)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    baseline = generate(SCENARIOS["baseline"], seed=1)
    wave_figure(
        baseline,
        generate(SCENARIOS["slow_waves"], seed=1),
        generate(SCENARIOS["huge_organic"], seed=1),
    )
    tier_figure(baseline)
    print(f"wrote {OUT / 'wave_arrivals.png'} and {OUT / 'three_tiers.png'}")
    if REAL.exists():
        real_network_figure(REAL)
        print(f"wrote {OUT / 'real_network.png'}")


if __name__ == "__main__":
    main()
