"""Logging set-up: plain text by default, one JSON object per line with MRD_LOG_JSON=1."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Fields a call passes as ``extra={"fields": {...}}``
    become keys of their own (``run_id``, ``waves``, ...), for log queries to filter on."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry |= {k: v for k, v in fields.items() if k not in entry}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class _ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own stderr handler, told apart from handlers others installed."""


def configure_logging(level: str, as_json: bool) -> None:
    handler = _ServiceHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _ServiceHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Per-request lines only at DEBUG: /metrics counts requests by route and status.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = level == "DEBUG"
