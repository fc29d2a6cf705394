"""Schemathesis against the service's own OpenAPI document: every operation, with
generated valid and invalid requests on a service holding analysed data. No answer
may be a 5xx, every answer must have a documented status, content type and schema,
and every error must be problem+json. At least 2,000 requests are generated.

The seed is fixed so a CI failure can be replayed; set ``MRD_FUZZ_SEED`` to explore.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app
from app.tools.demo import prepare_demo
from tests.conftest import LiveServer

KEY = "fuzz-admin-key-0123456789"
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
MIN_REQUESTS = 2_000


@pytest.fixture(scope="module")
def fuzzed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    prepare_demo(url, None, scale=0.1)
    # The AT Protocol intake and labels on, with a PLC directory address that answers
    # nothing here.
    settings = Settings(
        database_url=url,
        bootstrap_api_key=KEY,
        atproto_service_did="did:web:mrd.test",
        atproto_plc_url="http://127.0.0.1:9",
        atproto_label_key="5d1e6b7a0c9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170600",
    )
    app = create_app(settings)
    with LiveServer(app) as server:
        yield server.url
    app.state.context.db.dispose()


def test_no_operation_fails_its_documented_contract(fuzzed_service: str, tmp_path: Path) -> None:
    seed = os.environ.get("MRD_FUZZ_SEED", "20261121")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{fuzzed_service}/openapi.json",
            "--header",
            f"X-API-Key: {KEY}",
            "--checks",
            CHECKS,
            "--max-examples",
            "60",
            "--seed",
            seed,
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-2000:]
    assert int(generated.group(1)) >= MIN_REQUESTS, output[-2000:]
