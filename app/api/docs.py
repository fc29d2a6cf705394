"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served from the service itself.

Trust-and-safety networks are often closed: the pages load their assets from the
vendored copies under ``/ui/vendor/`` (checksums in its README), never from a CDN, and
run under a content-security policy that allows nothing else: scripts only from the
service, no inline code, no connection elsewhere. ReDoc writes its styles into
``<style>`` elements and attributes at run time (its bundled styled-components reads no
nonce), so its page alone also allows inline *styles*."""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse


def docs_policy(inline_styles: bool) -> str:
    """The pages' policy. Icons and fonts come as data: URLs inside the bundles; ReDoc's
    search runs in a worker made from a blob."""
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    return (
        "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
        f"style-src {styles}; script-src 'self'; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} - API</title>
  <link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/ui/vendor/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec_url}"></div>
  <script src="/ui/vendor/swagger-ui-bundle.js"></script>
  <script src="/ui/docs/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} - API reference</title>
  <link rel="icon" href="/ui/favicon.svg" type="image/svg+xml">
</head>
<body>
  <redoc spec-url="{spec_url}"></redoc>
  <script src="/ui/vendor/redoc.standalone.js"></script>
</body>
</html>
"""


def page(template: str, title: str, spec_url: str, inline_styles: bool) -> HTMLResponse:
    html = template.format(title=escape(title), spec_url=escape(spec_url))
    return HTMLResponse(
        html,
        headers={
            "content-security-policy": docs_policy(inline_styles),
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
        },
    )


def mount_docs(app: FastAPI) -> None:
    """Serve both pages; FastAPI's own (which load from a CDN) must be turned off."""
    spec_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return page(SWAGGER_PAGE, app.title, spec_url, inline_styles=False)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return page(REDOC_PAGE, app.title, spec_url, inline_styles=True)
