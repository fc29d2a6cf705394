"""Ingest throughput over HTTP: N reports in batches to a running service.

    python bench/ingest.py --url http://127.0.0.1:8000 --api-key KEY [-n 200000] [--batch 1000]

Prints reports/s and p50/p99 batch latency. Bodies are serialised before the clock
starts so the figure is the service's, not the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import httpx
import orjson

REASONS = ("spam", "terrorism", "hate", "harassment", "violence", "other")


def make_bodies(total: int, batch: int, run_tag: str) -> list[bytes]:
    start = 1_500_000_000
    bodies = []
    for first in range(0, total, batch):
        reports = [
            {
                "event_id": f"{run_tag}-{i}",
                "reporter_id": f"acct-{(i * 7919) % 50_000}",
                "target_id": f"target-{i % 997}",
                "reason": REASONS[i % len(REASONS)],
                "created_at": start + i,
                "content_id": f"post-{i % 5000}",
                "text": "بلغوا عن هذا الحساب" if i % 3 == 0 else "reported for spam",
            }
            for i in range(first, min(first + batch, total))
        ]
        bodies.append(orjson.dumps({"reports": reports}))
    return bodies


async def send_all(url: str, key: str, bodies: list[bytes], concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                began = time.perf_counter()
                response = await client.post("/v1/reports", content=body)
                latencies.append(time.perf_counter() - began)
                response.raise_for_status()
                answer = response.json()
                if answer["rejected"]:
                    raise SystemExit(f"service rejected items: {answer['rejected'][:3]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=os.environ.get("MRD_API_KEY", ""))
    parser.add_argument("-n", "--reports", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="batches in flight at once")
    args = parser.parse_args()

    bodies = make_bodies(args.reports, args.batch, uuid.uuid4().hex[:8])
    began = time.perf_counter()
    latencies = asyncio.run(send_all(args.url, args.api_key, bodies, args.concurrency))
    elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    print(
        f"reports:        {args.reports} in batches of {args.batch} ({args.concurrency} in flight)"
    )
    print(f"elapsed:        {elapsed:.2f} s")
    print(f"throughput:     {args.reports / elapsed:,.0f} reports/s")
    print(
        f"batch latency:  p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
