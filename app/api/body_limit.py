"""The body cap of every request: ``MRD_MAX_BODY_BYTES``, whatever the endpoint.

A declared ``Content-Length`` over the cap is refused before anything is read; a
streamed (chunked) body is counted as it arrives and refused as soon as it passes
the cap, so no endpoint ever buffers more than the cap.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response


class BodyTooLarge(HTTPException):
    """Raised from inside the body stream; an HTTP exception, because FastAPI turns
    any other error while it reads a body into a 400."""

    kind = "body-too-large"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(413, f"The body is larger than {self.limit} bytes.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            refusal = self._too_large()
            await problem_response(413, refusal.detail, refusal.kind)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise self._too_large()
            return message

        await self.app(scope, counted, send)
