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


def _segment(raw: str) -> str:
    return unquote(raw).replace("%", "%25").replace("/", "%2F")


def decoded_segment(value: str) -> str:
    """A path parameter as the client meant it (see the module docstring)."""
    return unquote(value)


class SegmentedPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw:
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                scope = dict(scope, path="/".join(_segment(s) for s in text.split("/")))
        await self.app(scope, receive, send)
