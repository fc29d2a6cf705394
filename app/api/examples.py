"""OpenAPI examples taken from the demo data set (``mrd demo``), so that "try it out"
in the docs finds the wave, group and accounts it names when the demo runs.

``examples.json`` is generated, not written by hand; after a change to the simulator
or the pipeline, regenerate it with ``python docs/examples.py`` (a test checks that
every example still resolves on the demo data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

EXAMPLES_FILE = Path(__file__).with_name("examples.json")


def _load() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(EXAMPLES_FILE.read_bytes())
    return loaded


DEMO = _load()


def json_example(value: object) -> dict[str, object]:
    """An OpenAPI ``responses`` entry whose JSON answer is ``value``."""
    return {"content": {"application/json": {"example": value}}}
