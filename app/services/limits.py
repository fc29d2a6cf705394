"""Per-key rate limits: a token bucket for every API key, in each process.

A bucket holds up to ``burst`` tokens and refills at ``rate`` per second; a request
takes one. An empty bucket answers 429 with the seconds until a token is back.
Buckets live in the process: with N workers or replicas a key may make up to N
times the rate, which still bounds what one stolen or runaway key can do.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    updated: float


# Past this many buckets, the full ones are forgotten before a new one is made.
MAX_BUCKETS = 100_000


class RateLimiter:
    """Token buckets by key id; thread-safe and O(1) per request."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def waiting(self, key_id: str, now: float | None = None) -> float:
        """The seconds until ``key_id`` has a token (0 if it has one), taking none."""
        return self._settle(key_id, now, take=False)

    def take(self, key_id: str, now: float | None = None) -> float:
        """Take a token for ``key_id``: 0 if allowed, else the seconds to wait."""
        return self._settle(key_id, now, take=True)

    def _settle(self, key_id: str, now: float | None, take: bool) -> float:
        """Refill ``key_id``'s bucket up to ``now``, take a token if asked and one is
        there; the seconds until a token (0 when there was one)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                if not take:
                    return 0.0
                if len(self._buckets) >= MAX_BUCKETS:
                    self._forget_full(now)
                bucket = self._buckets[key_id] = Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                if take:
                    bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: they hold nothing a new one would not, and
        callers that change their key (addresses) must not grow memory without end."""
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.rate < self.burst
        }


def retry_after(wait_s: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
