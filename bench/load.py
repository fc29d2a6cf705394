"""A mixed load held against ``mrd serve`` (issue #7): ingest batches, risk lookups,
enforcement checks and wave listings at a fixed open-loop rate, with per-route
latency percentiles, errors, and the service's memory sampled every few seconds.

    python -m bench.load --database-url postgresql+psycopg://postgres@127.0.0.1/mrd_load \\
        --workers 2 --duration 300 --rate 100

It fills the database with the demo data set (simulated scale 0.5), starts the
service, runs the load, stops the service and prints the figures. ``--only
enforcement`` sends nothing but enforcement checks. A 503 with ``Retry-After`` (the
service shedding load past its capacity) is counted as shed, not as an error; every
answer's time, a 503's included, goes into the "answered within 1 s" figure. Memory is the
resident size of the service's processes by role (the serving process and its HTTP
workers; the background process, whose analysis holds the data it analyses and so
grows with the reports the load stores); its trend is the least-squares slope over
the second half of the run (flat memory: a slope near zero).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

from bench.lean_http import LeanClient
from bench.service import KEY, family, service

# Share of requests per route (an enforcement pipeline checks far more than it ingests).
MIX = {"enforcement": 0.4, "risk": 0.3, "waves": 0.2, "ingest": 0.1}


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    shed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # seconds to every answer, whatever its status (a 503 included)
    answer_times: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    # (seconds into the run, reports stored by then, MiB by process role)
    memory: list[tuple[float, int, dict[str, float]]] = field(default_factory=list)
    reports_stored: int = 0

    def percentile(self, route: str, q: float) -> float:
        return float(np.percentile(self.latencies[route], q)) * 1000

    def memory_slope(self, roles: set[str]) -> float:
        """MiB per minute of the processes in ``roles`` over the second half of the run."""
        half = self.memory[len(self.memory) // 2 :]
        if len(half) < 3:
            return 0.0
        t = np.array([seconds for seconds, _, _ in half])
        mib = np.array([sum(sizes.get(role, 0.0) for role in roles) for _, _, sizes in half])
        return float(np.polyfit(t / 60.0, mib, 1)[0])


def process_rss_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process and each of its descendants, by role (the serving
    process, its HTTP workers, the background worker)."""
    sizes: dict[str, float] = defaultdict(float)
    for member in family(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text().splitlines()
            command = Path(f"/proc/{member}/cmdline").read_bytes().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        role = (
            "background"
            if b" worker " in command
            else "http workers"
            if b"spawn_main" in command
            else "serve"
            if b" serve " in command
            else "other"
        )
        for line in status:
            if line.startswith("VmRSS:"):
                sizes[role] += int(line.split()[1]) / 1024
    return dict(sizes)


async def run_load(
    base_url: str,
    key: str,
    duration_s: float,
    rate: float,
    targets: list[str],
    reporters: list[str],
    service_pid: int | None = None,
    reports_stored: int = 0,
    mix: dict[str, float] = MIX,
) -> LoadResult:
    """Send ``rate`` requests per second for ``duration_s`` seconds (open loop)."""
    result = LoadResult(reports_stored=reports_stored)
    rng = random.Random(7)
    routes, weights = zip(*mix.items(), strict=True)
    address = urlsplit(base_url)
    # Open loop: a request never waits for another's connection, as many callers would not.
    async with LeanClient(
        address.hostname or "127.0.0.1", address.port or 80, {"X-API-Key": key}, connections=2048
    ) as client:

        async def one(route: str, number: int) -> None:
            began = time.perf_counter()
            try:
                if route == "enforcement":
                    answer = await client.post(
                        "/v1/enforcement/check", json={"target_id": rng.choice(targets)}
                    )
                elif route == "risk":
                    ids = rng.sample(reporters, min(50, len(reporters)))
                    answer = await client.post("/v1/accounts/risk", json={"account_ids": ids})
                elif route == "waves":
                    answer = await client.get(
                        "/v1/waves", params={"target_id": rng.choice(targets), "limit": 100}
                    )
                else:
                    reports = [
                        {
                            "event_id": f"load-{number}-{i}",
                            "reporter_id": rng.choice(reporters),
                            "target_id": rng.choice(targets),
                            "reason": "spam",
                            "created_at": "2017-07-28T12:00:00Z",
                        }
                        for i in range(100)
                    ]
                    answer = await client.post("/v1/reports", json={"reports": reports})
                    if answer.status_code == 200:
                        result.reports_stored += answer.json()["accepted"]
                result.answer_times.append(time.perf_counter() - began)
                if answer.status_code == 503 and "Retry-After" in answer.headers:
                    result.shed[route] += 1
                    return
                if answer.status_code >= 300:
                    raise RuntimeError(f"{answer.status_code} {answer.content[:200]!r}")
                result.latencies[route].append(time.perf_counter() - began)
            except Exception as exc:
                result.errors[route] += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{route}: {exc!r}")

        async def sample_memory(start: float) -> None:
            while service_pid is not None:
                sizes = process_rss_mib(service_pid)
                result.memory.append((time.monotonic() - start, result.reports_stored, sizes))
                await asyncio.sleep(5)

        start = time.monotonic()
        sampler = asyncio.create_task(sample_memory(start))
        pending: set[asyncio.Task[None]] = set()
        number = 0
        while (elapsed := time.monotonic() - start) < duration_s:
            due = int(elapsed * rate)
            while number < due:
                task = asyncio.create_task(one(rng.choices(routes, weights)[0], number))
                pending.add(task)
                task.add_done_callback(pending.discard)
                number += 1
            await asyncio.sleep(0.002)
        if pending:
            await asyncio.wait(pending)
        sampler.cancel()
    return result


def print_result(
    result: LoadResult, duration_s: float, rate: float, mix: dict[str, float] = MIX
) -> None:
    print(f"{duration_s:.0f} s at {rate:.0f} requests/s (open loop), mix {mix}")
    print(
        f"{'route':<12}{'answered':>10}{'shed':>8}{'errors':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    )
    for route in mix:
        done = len(result.latencies[route])
        if done:
            print(
                f"{route:<12}{done:>10,}{result.shed[route]:>8}{result.errors[route]:>8}"
                f"{result.percentile(route, 50):>9.1f}{result.percentile(route, 95):>9.1f}"
                f"{result.percentile(route, 99):>9.1f}"
            )
    if result.answer_times:
        times = np.array(result.answer_times)
        print(
            f"answered within 1 s: {int((times <= 1.0).sum()):,} of {times.size:,} "
            f"(slowest {times.max() * 1000:.0f} ms); shed (503): {sum(result.shed.values()):,}"
        )
    for sample in result.error_samples:
        print("error:", sample)
    if not result.memory:
        return
    print("memory (MiB) by process role, with the reports stored by then:")
    every = max(1, len(result.memory) // 10)
    for seconds, stored, sizes in [*result.memory[::every], result.memory[-1]]:
        roles = ", ".join(f"{role} {size:.0f}" for role, size in sorted(sizes.items()))
        print(f"  {seconds:5.0f} s  {stored:>9,} reports  {roles}")
    serving = set(result.memory[-1][2]) - {"background"}
    print(
        f"trend over the second half: serving processes {result.memory_slope(serving):+.2f} "
        f"MiB/min, background {result.memory_slope({'background'}):+.2f} MiB/min"
    )


def demo_accounts(base_url: str, key: str) -> tuple[list[str], list[str]]:
    """Targets (from the results) and reporters (from the waves) to aim the load at."""
    headers = {"X-API-Key": key}
    waves = httpx.get(f"{base_url}/v1/waves", params={"limit": 200}, headers=headers).json()
    targets = sorted({w["target_id"] for w in waves["items"]})
    reporters: set[str] = set()
    for wave in waves["items"][:20]:
        detail = httpx.get(f"{base_url}/v1/waves/{wave['wave_id']}", headers=headers).json()
        reporters |= {r["account_id"] for r in detail["reporters"]}
    return targets, sorted(reporters)


def load_demo_service(
    database_url: str,
    workers: int,
    duration_s: float,
    rate: float,
    port: int,
    mix: dict[str, float] = MIX,
) -> LoadResult:
    """Fill the new database ``database_url`` with the demo data set, serve it with
    ``workers`` HTTP workers, and hold the load against it."""
    from app.tools.demo import prepare_demo

    prepare_demo(database_url, None)
    # The scheduler at its default, as in production: new data gets analysed.
    with service(database_url, port, workers, {"MRD_ANALYSIS_INTERVAL_S": "60"}) as client:
        base = str(client.base_url).rstrip("/")
        targets, reporters = demo_accounts(base, KEY)
        pid = client.server_pid  # type: ignore[attr-defined]
        stored = client.get("/v1/analysis/runs/latest").json()["stats"]["reports"]
        return asyncio.run(
            run_load(base, KEY, duration_s, rate, targets, reporters, pid, stored, mix)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="a new, empty database")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument(
        "--only", choices=sorted(MIX), help="send only this kind of request (default: the mix)"
    )
    args = parser.parse_args()
    mix = {args.only: 1.0} if args.only else MIX
    result = load_demo_service(
        args.database_url, args.workers, args.duration, args.rate, args.port, mix
    )
    print_result(result, args.duration, args.rate, mix)


if __name__ == "__main__":
    main()
