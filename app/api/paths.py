"""Ids that hold "/" (or "%") in URL paths.

SPEC lets an id hold any printable character, "/" included. A client percent-encodes
it (``a%2Fb``), but the server decodes the whole path before routing, so the id would
arrive as two path segments and no route would match. ``SegmentedPath`` decodes the
raw path one segment at a time and keeps each segment's own "/" and "%" encoded (as
``%2F`` and ``%25``); a handler that takes a client's id restores it with
``decoded_segment``. Every other character (spaces, "?", "#", Arabic) arrives decoded
as before.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import Problem


def _escaped(segment: str) -> str:
    return segment.replace("%", "%25").replace("/", "%2F")


def routing_path(raw: bytes | None, decoded: str) -> str:
    """The path to route on: from the raw bytes when the server gives them (bytes
    outside ASCII taken as percent-encoded UTF-8), otherwise the server's decoded path
    with its "%" kept encoded (a "/" inside an id is then lost, but nothing is decoded
    twice)."""
    if raw is None:
        return "/".join(_escaped(segment) for segment in decoded.split("/"))
    text = "".join(chr(byte) if byte < 128 else f"%{byte:02X}" for byte in raw)
    return "/".join(_escaped(unquote(segment)) for segment in text.split("/"))


def decoded_segment(value: str, max_length: int) -> str:
    """A path parameter as the client meant it (see the module docstring); 422 when it
    is longer than ``max_length`` characters."""
    decoded = unquote(value)
    if "\x00" in decoded:
        raise Problem(
            422,
            "The request is not valid.",
            "validation-error",
            [{"loc": ["path"], "msg": "must not contain NUL characters"}],
        )
    if len(decoded) > max_length:
        raise Problem(
            422,
            "The request is not valid.",
            "validation-error",
            [{"loc": ["path"], "msg": f"at most {max_length} characters"}],
        )
    return decoded


class SegmentedPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = dict(scope, path=routing_path(scope.get("raw_path"), scope["path"]))
        await self.app(scope, receive, send)
