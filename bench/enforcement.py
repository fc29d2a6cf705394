"""Latency of ``POST /v1/enforcement/check`` at a steady request rate.

    python -m bench.enforcement [--database-url URL] [--rate 200] [--seconds 20] [--rounds 3]
    python -m bench.enforcement --url URL --api-key KEY   # a service already running

Starts ``mrd serve`` (one worker) with the baseline scale-1 data set (seed 501) loaded
and analysed, unless ``--url`` names a running one. Then, round after round, asks
about targets taken from ``GET /v1/targets`` and ``GET /v1/waves`` (so the answers
come from real results) at a fixed rate, open loop, and prints p50/p95/p99 latency
and the error count. The first round starts right after the service did.
Target (issue #4): p99 under 20 ms at 200 requests/s, one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx

from app.tools.simulate import SCENARIOS, generate
from bench.service import KEY, full_run, scratch_database, send_world, service


async def run(url: str, key: str, rate: float, seconds: float) -> None:
    headers = {"X-API-Key": key}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=10, limits=limits
    ) as client:
        targets = [
            t["account_id"]
            for t in (await client.get("/v1/targets", params={"limit": 200})).json()["items"]
        ]
        waves = (await client.get("/v1/waves", params={"limit": 500})).json()["items"]
        targets += [w["target_id"] for w in waves]
        if not targets:
            raise SystemExit("no analysed targets: load data and run an analysis first")
        latencies: list[float] = []
        errors = 0

        async def ask(target: str) -> None:
            nonlocal errors
            began = time.perf_counter()
            response = await client.post("/v1/enforcement/check", json={"target_id": target})
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                errors += 1

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(ask(targets[i % len(targets)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(f"{total} checks in {elapsed:.1f} s ({total / elapsed:.0f}/s), {errors} errors")
    print(f"latency: p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=None)
    parser.add_argument("--api-key", default=os.environ.get("MRD_API_KEY", ""))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.url:
        for _ in range(args.rounds):
            asyncio.run(run(args.url, args.api_key, args.rate, args.seconds))
        return
    world = generate(SCENARIOS["baseline"], seed=501, scale=1.0)
    with scratch_database(args.database_url) as url:
        with service(url, args.port) as client:
            send_world(client, world)
            full_run(client)
        # A fresh process on the loaded database: the first round meets a cold start.
        with service(url, args.port) as client:
            for _ in range(args.rounds):
                asyncio.run(run(str(client.base_url), KEY, args.rate, args.seconds))


if __name__ == "__main__":
    main()
