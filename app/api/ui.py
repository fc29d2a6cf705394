"""The read-only dashboard at ``/ui``: static pages that call the API with the key
the analyst enters once (kept in the browser's session storage)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
# Everything the pages load comes from the service itself: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)


class DashboardFiles(StaticFiles):
    """Static files with a strict content-security policy."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(
                    [
                        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                        (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"no-referrer"),
                    ]
                )
            await send(message)

        await super().__call__(scope, receive, send_with_policy)


def mount_dashboard(app: FastAPI) -> None:
    @app.get("/ui", include_in_schema=False)
    def dashboard_root() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.mount("/ui/", DashboardFiles(directory=UI_DIR, html=True), name="ui")
