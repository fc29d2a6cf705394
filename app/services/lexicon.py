"""Checking a JSON value against an AT Protocol lexicon (the vendored official
documents in ``lexicons/``), for the types the service's methods use: objects, arrays,
strings with their formats and lengths, integers, booleans, bytes, refs, unions and
unknowns. A request
the lexicon does not allow is refused as XRPC's ``InvalidRequest``."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import orjson

LEXICONS = Path(__file__).with_name("lexicons")
FORMATS = {
    "did": re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$"),
    "at-uri": re.compile(r"^at://[^/\s]+(/[a-zA-Z0-9.-]+(/[a-zA-Z0-9._~:@!$&')(*+,;=%-]+)?)?$"),
    "cid": re.compile(r"^[a-zA-Z0-9+=]{8,256}$"),
    "uri": re.compile(r"^[a-z][a-z.-]*:\S+$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"),
}


@cache
def document(nsid: str) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads((LEXICONS / f"{nsid}.json").read_bytes())
    return found


def definition(ref: str, context: str) -> tuple[dict[str, Any], str]:
    """The definition ``ref`` names (``lex:nsid#name``, ``nsid`` or ``#name`` within
    ``context``), and the NSID it lives in."""
    ref = ref.removeprefix("lex:")
    nsid, _, name = ref.partition("#")
    nsid = nsid or context
    return document(nsid)["defs"][name or "main"], nsid


def _path(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name


def _union(value: Any, schema: dict[str, Any], context: str, at: str) -> list[str]:
    if not isinstance(value, dict) or not isinstance(value.get("$type"), str):
        return [f"{at or 'input'} must be an object with a $type"]
    for ref in schema["refs"]:
        name = ref.removeprefix("lex:")
        if value["$type"] in (name, name.removesuffix("#main")):
            target, nsid = definition(ref, context)
            return errors(value, target, nsid, at)
    if schema.get("closed"):
        return [f"{at or 'input'} has $type {value['$type']}, not one of {schema['refs']}"]
    return []


def _object(value: Any, schema: dict[str, Any], context: str, at: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{at or 'input'} must be an object"]
    found = [
        f"{_path(at, name)} is required"
        for name in schema.get("required", [])
        if value.get(name) is None
    ]
    for name, sub in schema.get("properties", {}).items():
        if value.get(name) is not None:
            found += errors(value[name], sub, context, _path(at, name))
    return found


def _string(value: Any, schema: dict[str, Any], _context: str, at: str) -> list[str]:
    where = at or "input"
    if not isinstance(value, str):
        return [f"{where} must be a string"]
    if len(value.encode()) > schema.get("maxLength", 1 << 30):
        return [f"{where} is longer than {schema['maxLength']} bytes"]
    if len(value) > schema.get("maxGraphemes", 1 << 30):
        return [f"{where} is longer than {schema['maxGraphemes']} characters"]
    pattern = FORMATS.get(schema.get("format", ""))
    if pattern is not None and not pattern.match(value):
        return [f"{where} is not a valid {schema['format']}"]
    return []


def _integer(value: Any, _schema: dict[str, Any], _context: str, at: str) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool):
        return []
    return [f"{at or 'input'} must be an integer"]


def _boolean(value: Any, _schema: dict[str, Any], _context: str, at: str) -> list[str]:
    return [] if isinstance(value, bool) else [f"{at or 'input'} must be a boolean"]


def _bytes(value: Any, _schema: dict[str, Any], _context: str, at: str) -> list[str]:
    """Bytes in JSON: ``{"$bytes": base64}``."""
    if isinstance(value, dict) and set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
        return []
    return [f'{at or "input"} must be {{"$bytes": base64}}']


def _array(value: Any, schema: dict[str, Any], context: str, at: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{at or 'input'} must be an array"]
    found = []
    for n, item in enumerate(value):
        found += errors(item, schema["items"], context, f"{at or 'input'}[{n}]")
    return found


def _ref(value: Any, schema: dict[str, Any], context: str, at: str) -> list[str]:
    target, nsid = definition(schema["ref"], context)
    return errors(value, target, nsid, at)


CHECKS = {
    "ref": _ref,
    "union": _union,
    "object": _object,
    "string": _string,
    "integer": _integer,
    "boolean": _boolean,
    "bytes": _bytes,
    "array": _array,
    "unknown": lambda *_: [],
}


def errors(value: Any, schema: dict[str, Any], context: str, at: str = "") -> list[str]:
    """What in ``value`` the schema (a definition of the lexicon ``context``) does not
    allow; empty when it is valid."""
    check = CHECKS.get(schema.get("type", ""))
    if check is None:
        return [f"{at or 'input'}: lexicon type {schema.get('type')!r} is not checked here"]
    return check(value, schema, context, at)


def check_input(nsid: str, value: Any) -> list[str]:
    main = document(nsid)["defs"]["main"]
    return errors(value, main["input"]["schema"], nsid)


def check_output(nsid: str, value: Any) -> list[str]:
    main = document(nsid)["defs"]["main"]
    return errors(value, main["output"]["schema"], nsid)
