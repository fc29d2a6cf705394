"""The mixed load of ``bench/load.py`` for 30 s against ``mrd serve --workers 2`` on
PostgreSQL: enforcement checks, risk lookups, wave listings and ingest batches at
once. Every request is answered without an error and none is shed, and the serving
processes' memory does not grow. (Latency figures are the benchmark's business, in
docs/benchmarks.md: timings on a shared CI machine prove nothing.)"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from bench.load import MIX, load_demo_service, print_result
from tests.conftest import POSTGRES_URL, free_port, fresh_postgres_database

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs MRD_TEST_POSTGRES_URL")
DURATION_S = 30
RATE = 100


def test_thirty_seconds_of_mixed_load_without_an_error() -> None:
    # The load is sent from a process of its own: in this one, the threads of the
    # session's in-process services would share the interpreter with the sender and
    # bunch its requests into bursts the service never sees from a real client.
    spawn = multiprocessing.get_context("spawn")
    with (
        fresh_postgres_database("mrd_mixed_load") as url,
        ProcessPoolExecutor(max_workers=1, mp_context=spawn) as sender,
    ):
        result = sender.submit(load_demo_service, url, 2, DURATION_S, RATE, free_port()).result()
    print_result(result, DURATION_S, RATE)
    assert sum(result.errors.values()) == 0, result.error_samples
    assert sum(result.shed.values()) == 0  # well under capacity: nothing is shed
    answered = sum(len(latencies) for latencies in result.latencies.values())
    assert answered >= DURATION_S * RATE * 0.99
    assert set(result.latencies) == set(MIX)
    # Memory: the HTTP workers hold no more after the load than a little above
    # their start (the background process's grows with the data it analyses).
    first, last = result.memory[0][2], result.memory[-1][2]
    assert last["http workers"] - first["http workers"] < 64
