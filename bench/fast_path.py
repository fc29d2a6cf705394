"""How fast, and how right, the fast path is on waves that arrive after a full run.

    python -m bench.fast_path [--scenario baseline] [--seed 701] [--scale 1] [--waves 12]
                              [--database-url URL]

Starts ``mrd serve`` (one worker, the scheduler effectively off), loads a simulated
data set without its newest ``--waves`` waves (orchestrated and organic), runs one
full analysis, then sends each held-back wave in batches of 25 reports. For each it
prints how long after the last batch was acknowledged the provisional wave held all
of it (polling ``GET /v1/waves`` every 20 ms), and whether the enforcement check then
answered as the ground truth says it should. Target (issue #4): within a second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx

from app.tools.simulate import SCENARIOS, generate
from bench.service import full_run, scratch_database, send, send_world, service


def late_waves(world: Any, count: int) -> list[dict[str, Any]]:
    """The newest waves, one per target, on targets no other wave struck."""
    struck: dict[str, int] = {}
    for wave in world.truth["waves"]:
        struck[wave["target_id"]] = struck.get(wave["target_id"], 0) + 1
    lone = [w for w in world.truth["waves"] if struck[w["target_id"]] == 1]
    return sorted(lone, key=lambda w: w["end"])[-count:]


def reports_of(world: Any, wave: dict[str, Any]) -> list[dict[str, Any]]:
    reporters = set(wave["reporters"])
    return [
        r
        for r in world.reports
        if r["target_id"] == wave["target_id"]
        and r["reporter_id"] in reporters
        and wave["start"] <= r["created_at"] <= wave["end"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="baseline", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=701)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--waves", type=int, default=12)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    world = generate(SCENARIOS[args.scenario], seed=args.seed, scale=args.scale)
    held = late_waves(world, args.waves)
    late = {r["event_id"] for w in held for r in reports_of(world, w)}
    victims = set(world.truth["victims"])
    with scratch_database(args.database_url) as url, service(url, args.port) as client:
        send_world(client, world, late)
        full_run(client)
        measure(client, world, held, victims)


def measure(
    client: httpx.Client, world: Any, held: list[dict[str, Any]], victims: set[str]
) -> None:
    print(f"{'wave':<8} {'truth':<13} {'reports':>7} {'seen after':>10}  action           right")
    latencies, right = [], 0
    for wave in held:
        reports = reports_of(world, wave)
        send(client, "reports", reports, size=25)
        acknowledged = time.perf_counter()
        covered, seen = 0, float("nan")
        while time.perf_counter() - acknowledged < 30:
            items = client.get("/v1/waves", params={"target_id": wave["target_id"]}).json()
            covered = max(
                (w["report_count"] for w in items["items"] if w["provisional"]), default=0
            )
            if covered >= 0.9 * len(reports):
                seen = time.perf_counter() - acknowledged
                break
            time.sleep(0.02)
        check = client.post("/v1/enforcement/check", json={"target_id": wave["target_id"]})
        action = check.json()["action"]
        expected = "hold_for_review" if wave["target_id"] in victims else "proceed"
        right += action == expected
        latencies.append(seen)
        kind = "orchestrated" if wave["orchestrated"] else "organic"
        print(
            f"{wave['wave_id']:<8} {kind:<13} {len(reports):>7} {seen * 1000:>8.0f} ms"
            f"  {action:<16} {'yes' if action == expected else 'NO'}"
        )
    measured = [s for s in latencies if s == s]
    if measured:
        print(
            f"seen after: median {statistics.median(measured) * 1000:.0f} ms, "
            f"max {max(measured) * 1000:.0f} ms; {len(latencies) - len(measured)} not seen"
        )
    print(f"enforcement answers as the truth says: {right} of {len(held)}")


if __name__ == "__main__":
    main()
