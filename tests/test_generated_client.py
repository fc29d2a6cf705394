"""A real client generated from the service's own ``/openapi.json`` by
openapi-python-client (the version pinned in pyproject.toml): every answer is a typed
model, the functions have readable names, and ingest, a run, the waves and the
enforcement check work through it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.engine import Database
from app.tools.simulate import SCENARIOS, generate
from tests.conftest import ADMIN_KEY, LiveServer

WORLD = generate(SCENARIOS["baseline"], seed=603, scale=0.2)
PACKAGE = "mrd_client"


@pytest.fixture
def generated(service: LiveServer, db: Database, tmp_path: Path) -> Iterator[Any]:
    """The generated package, imported from a scratch folder."""
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{service.url}/openapi.json").content)
    tools = str(Path(sys.executable).parent)  # the generator formats with ruff
    env = os.environ | {"PATH": tools + os.pathsep + os.environ.get("PATH", "")}
    subprocess.run(
        [
            Path(tools) / "openapi-python-client",
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def endpoint(package: Any, tag: str, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{name}")


def model(package: Any, module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models.{module}"), name)


def test_every_answer_is_a_typed_model(generated: Any, tmp_path: Path) -> None:
    """No JSON answer comes back as an untyped dict; only the 204s and the Prometheus
    text have no model."""
    untyped = []
    for source in (tmp_path / PACKAGE / "api").rglob("*.py"):
        text = source.read_text()
        if "def sync_detailed" not in text:
            continue
        answer = text.split("def sync_detailed", 1)[1].split("-> Response[", 1)[1].split("]")[0]
        kinds = {part.strip() for part in answer.split("|")} - {"Problem"}
        if kinds & {"Any", "dict[str, Any]"} or kinds == set():
            untyped.append((source.stem, answer))
    assert sorted(untyped) == [
        ("remove_integration", "Any | Problem"),
        ("remove_webhook", "Any | Problem"),
        ("revoke_api_key", "Any | Problem"),
    ]
    assert (tmp_path / PACKAGE / "api" / "results" / "enforcement_check.py").is_file()
    assert (tmp_path / PACKAGE / "api" / "results" / "list_waves.py").is_file()


def test_ingest_run_waves_and_enforcement_through_the_client(
    service: LiveServer, generated: Any
) -> None:
    client = generated.AuthenticatedClient(
        base_url=service.url, token=ADMIN_KEY, prefix="", auth_header_name="X-API-Key"
    )
    for kind, body_model in (("accounts", "IngestAccountsBody"), ("reports", "IngestReportsBody")):
        body_class = model(generated, f"ingest_{kind}_body", body_model)
        rows = getattr(WORLD, kind)
        for start in range(0, len(rows), 5000):
            body = body_class.from_dict({kind: rows[start : start + 5000]})
            answer = endpoint(generated, "ingest", f"ingest_{kind}").sync(client=client, body=body)
            assert answer.rejected == [], answer

    run = endpoint(generated, "analysis", "start_run").sync(client=client)
    deadline = time.monotonic() + 120
    while run.status.value not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        run = endpoint(generated, "analysis", "get_run").sync(client=client, run_id=run.run_id)
    assert run.status.value == "succeeded", run

    orchestrated = model(generated, "list_waves_label_type_0", "ListWavesLabelType0")
    page = endpoint(generated, "results", "list_waves").sync(
        client=client, label=orchestrated("orchestrated"), limit=5
    )
    assert type(page).__name__ == "WavePage" and page.items
    summary = page.items[0]
    assert type(summary).__name__ == "WaveSummary" and summary.score >= 0.5
    wave = endpoint(generated, "results", "get_wave").sync(client=client, wave_id=summary.wave_id)
    assert type(wave).__name__ == "NamedWave"
    assert type(wave.reporters[0]).__name__ == "WaveReporter"
    assert len(wave.reporters) == wave.reporter_count

    query = model(generated, "enforcement_query", "EnforcementQuery")(target_id=summary.target_id)
    check = endpoint(generated, "results", "enforcement_check").sync(client=client, body=query)
    assert type(check).__name__ == "EnforcementAnswer"
    assert check.action.value == "hold_for_review"

    risk = endpoint(generated, "results", "account_risk").sync(
        client=client, account_id=summary.target_id
    )
    # Single answers carry the names of the accounts they mention (`accounts`).
    assert type(risk).__name__ == "NamedAccountRisk" and risk.target_risk >= 0.5
    assert risk.accounts[summary.target_id].handle
    assert type(risk.reliability).__name__ == "Reliability"
    network = endpoint(generated, "results", "network_tiers").sync(client=client)
    assert type(network).__name__ == "NamedNetwork"

    sent = model(generated, "analyze_entities_body", "AnalyzeEntitiesBody").from_dict(
        {"reports": WORLD.reports[:300], "accounts": WORLD.accounts[:300]}
    )
    analysed = endpoint(generated, "analysis", "analyze_entities").sync(client=client, body=sent)
    assert type(analysed).__name__ == "AnalyzeResult"
    assert type(analysed.network).__name__ == "Network"
