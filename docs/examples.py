"""Regenerate the OpenAPI examples (``app/api/examples.json``) from the demo data set,
so that "try it out" in the docs finds the wave, group and accounts it names when
``mrd demo`` runs.

    python docs/examples.py

Prepares the demo data in a scratch database, serves it on 127.0.0.1, reads one of
each document from it and writes the file.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from app.api.examples import EXAMPLES_FILE
from app.config import Settings
from app.main import create_app
from app.tools.demo import DEFAULT_TWEETS, prepare_demo

SHOWN = 3
KEY = "examples-admin-key-0123456789"
PORT = 8791


def _trimmed(document: dict[str, Any]) -> dict[str, Any]:
    """Long lists cut to a few items, and names kept for the accounts still shown: an
    example, not a dump."""
    kept = {
        key: value[:SHOWN] if isinstance(value, list) and len(value) > SHOWN else value
        for key, value in document.items()
    }
    if isinstance(kept.get("accounts"), dict):
        shown = orjson.dumps({k: v for k, v in kept.items() if k != "accounts"}).decode()
        kept["accounts"] = {a: n for a, n in kept["accounts"].items() if f'"{a}"' in shown}
    return kept


def collect(base_url: str, key: str) -> dict[str, Any]:
    """Examples read from a service that holds the analysed demo data."""
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as client:

        def get(path: str, **params: Any) -> Any:
            answer = client.get(path, params=params)
            answer.raise_for_status()
            return answer.json()

        waves = get("/v1/waves", limit=1000)["items"]
        flagged = max((w for w in waves if w["label"] == "orchestrated"), key=lambda w: w["score"])
        wave = get(f"/v1/waves/{flagged['wave_id']}")
        reporter = max(wave["reporters"], key=lambda r: r["reporter_risk"])["account_id"]
        target = flagged["target_id"]
        leader = next(o["account_id"] for o in wave["orchestrators"] if o["directive"])
        group = get("/v1/groups", limit=1)["items"][0]
        network = get("/v1/network/tiers")
        network["tiers"] = {tier: _trimmed(listing) for tier, listing in network["tiers"].items()}
        network["hubs"] = [_trimmed(h) for h in network["hubs"][:SHOWN]]
        network = _trimmed(network)
        check = client.post("/v1/enforcement/check", json={"target_id": target}).json()
        return {
            "wave": _trimmed(wave),
            "group": _trimmed(get(f"/v1/groups/{group['group_id']}")),
            "target_risk": _trimmed(get(f"/v1/accounts/{target}/risk")),
            "reporter_risk": _trimmed(get(f"/v1/accounts/{reporter}/risk")),
            "orchestrator_risk": _trimmed(get(f"/v1/accounts/{leader}/risk")),
            "account": get(f"/v1/accounts/{target}"),
            "network": network,
            "enforcement": check,
            "run": get("/v1/analysis/runs/latest"),
        }


def main() -> None:
    """Prepare the demo data in a scratch database, serve it, write ``examples.json``."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'demo.db'}"
        prepare_demo(url, DEFAULT_TWEETS if DEFAULT_TWEETS.is_file() else None)
        app = create_app(Settings(database_url=url, bootstrap_api_key=KEY))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=PORT, log_config=None))
        thread = threading.Thread(target=server.run)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            examples = collect(f"http://127.0.0.1:{PORT}", KEY)
        finally:
            server.should_exit = True
            thread.join()
    EXAMPLES_FILE.write_bytes(orjson.dumps(examples, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {EXAMPLES_FILE}")


if __name__ == "__main__":
    main()
