"""How fast, and how right, the fast path is on waves that arrive after a full run.

    python bench/fast_path.py [--scenario baseline] [--seed 701] [--scale 1] [--waves 12]
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
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.simulate import SCENARIOS, generate

KEY = "bench-fast-path-key"


def send(client: httpx.Client, kind: str, rows: list[dict[str, Any]], size: int = 5000) -> None:
    for start in range(0, len(rows), size):
        answer = client.post(f"/v1/{kind}", json={kind: rows[start : start + size]})
        answer.raise_for_status()


def wait_until_ready(client: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not become ready")


def full_run(client: httpx.Client) -> None:
    run_id = client.post("/v1/analysis/runs").json()["run_id"]
    while (run := client.get(f"/v1/analysis/runs/{run_id}").json())["status"] in (
        "queued",
        "running",
    ):
        time.sleep(0.2)
    if run["status"] != "succeeded":
        raise SystemExit(f"analysis failed: {run}")


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
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = os.environ | {
            "MRD_DATABASE_URL": url,
            "MRD_BOOTSTRAP_API_KEY": KEY,
            "MRD_ANALYSIS_INTERVAL_S": "86400",
            "MRD_LOG_LEVEL": os.environ.get("MRD_LOG_LEVEL", "WARNING"),
        }
        command = [sys.executable, "-m", "app", "serve", "--port", str(args.port)]
        server = subprocess.Popen(command, env=env)
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{args.port}", headers={"X-API-Key": KEY}, timeout=60
            ) as client:
                wait_until_ready(client)
                for kind in ("accounts", "edges", "posts", "decisions"):
                    send(client, kind, getattr(world, kind))
                send(client, "reports", [r for r in world.reports if r["event_id"] not in late])
                full_run(client)
                measure(client, world, held, victims)
        finally:
            server.terminate()
            server.wait(timeout=30)


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
