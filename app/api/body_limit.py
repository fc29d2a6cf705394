"""The body cap and body deadline of every request, whatever the endpoint.

A declared ``Content-Length`` over the cap (``MRD_MAX_BODY_BYTES``) is refused before
anything is read; a streamed (chunked) body is counted as it arrives and refused as
soon as it passes the cap, so no endpoint ever buffers more than the cap. A body that
has not fully arrived ``MRD_BODY_TIMEOUT_S`` after the request began is refused with
408: a client trickling bytes cannot hold a worker's memory and a connection for
ever.
"""

from __future__ import annotations

import asyncio
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response


class BodyTooLarge(HTTPException):
    """Raised from inside the body stream; an HTTP exception, because FastAPI turns
    any other error while it reads a body into a 400."""

    kind = "body-too-large"


class BodyTooSlow(HTTPException):
    kind = "body-timeout"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, timeout_s: float) -> None:
        self.app, self.limit, self.timeout_s = app, limit, timeout_s

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
        seen, complete = 0, False
        deadline = time.monotonic() + self.timeout_s

        async def counted() -> Message:
            nonlocal seen, complete
            if complete:  # later reads wait for the disconnect: no deadline
                return await receive()
            try:
                async with asyncio.timeout(deadline - time.monotonic()):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(
                    408, f"The body did not arrive within {self.timeout_s:g} s."
                ) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise self._too_large()
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)
