"""The stub's root URL: where to go from here, instead of a 404.

A browser (or anything asking for HTML) gets a small page; `Accept: application/json` gets the
same links as JSON, for scripts. The links: each Graph version's Swagger UI and OpenAPI
document, the control API (when this stub serves it) and the documentation's pages. URLs are
absolute, built from the request, so they carry the scheme (`https` under `--tls`), host and
port the client used.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

__all__ = ["DOCS", "HomePage"]

DOCS = (
    ("README.md", "the three user stories, the commands"),
    ("docs/testing.md", "testing your integration: faults, read lag, the journal; pytest and JavaScript"),
    ("docs/control.md", "the control API: routes, fault rule syntax, safety"),
    ("docs/notifications.md", "change notifications: subscriptions, deliveries, vevents check-webhook"),
    ("docs/sdk.md", "the official Graph SDKs against the stub, HTTPS and the local CA"),
    ("docs/lists.md", "lists by role, $count, pages, external event ids"),
    ("docs/clients.md", "generating clients (Python, TypeScript, Kiota) from the spec"),
    ("docs/auth.md", "tokens, permissions and roles"),
    ("docs/conformance.md", "vevents check, the conformance suite"),
    ("docs/choices.md", "where Graph's documentation is silent, and what the stub chose"),
)
"""Documentation pages in the vevents repository (not served by the stub): (path, what it covers)."""


class HomePage:
    """The endpoint of `GET /`: links to the Swagger UIs, the control API and the docs."""

    def __init__(self, versions: Sequence[str], *, control_prefix: str | None) -> None:
        self.versions = tuple(versions)
        self.control_prefix = control_prefix
        """None: this stub does not serve the control API (not on loopback, no control token)."""

    def links(self, base: str) -> dict[str, Any]:
        """The page's content as data; `base` is the root URL without a trailing slash."""
        return {
            "name": "vevents stub: Microsoft Graph virtual events (webinars, town halls)",
            "versions": {
                version: {
                    "baseUrl": f"{base}/{version}",
                    "swaggerUi": f"{base}/{version}/ui/",
                    "openapi": f"{base}/{version}/openapi.json",
                }
                for version in self.versions
            },
            "control": None
            if self.control_prefix is None
            else {
                "baseUrl": f"{base}{self.control_prefix}",
                "swaggerUi": f"{base}{self.control_prefix}/ui/",
                "openapi": f"{base}{self.control_prefix}/openapi.json",
            },
            "docs": [{"path": path, "about": about} for path, about in DOCS],
        }

    async def page(self, request: Request) -> Response:
        links = self.links(str(request.base_url).rstrip("/"))
        if _wants_json(request.headers.get("accept", "")):
            return JSONResponse(links)
        return HTMLResponse(_render(links))


def _wants_json(accept: str) -> bool:
    """JSON only when asked for it and HTML is not (browsers and `*/*` get the page)."""
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(media & {"application/json", "application/*"}) and "text/html" not in media


def _link(url: str, text: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


def _render(links: dict[str, Any]) -> str:
    items = []
    for version, urls in links["versions"].items():
        items.append(
            f"<li>Graph {html.escape(version)}: {_link(urls['swaggerUi'], 'Swagger UI')}, "
            f"{_link(urls['openapi'], 'OpenAPI document')}, base URL <code>{html.escape(urls['baseUrl'])}"
            "</code></li>"
        )
    control = links["control"]
    if control is None:
        items.append(
            "<li>Control API (faults, lag, journal, reset): not served here; it is on only on a "
            "loopback address or with <code>--control-token</code></li>"
        )
    else:
        items.append(
            f"<li>Control API (faults, lag, journal, reset): {_link(control['swaggerUi'], 'Swagger UI')}, "
            f"{_link(control['openapi'], 'OpenAPI document')}</li>"
        )
    docs = "".join(f"<li><code>{html.escape(d['path'])}</code>: {html.escape(d['about'])}</li>" for d in links["docs"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>vevents stub</title></head>\n'
        f"<body><h1>{html.escape(links['name'])}</h1>\n<ul>{''.join(items)}</ul>\n"
        f"<h2>Documentation (in the vevents repository)</h2>\n<ul>{docs}</ul>\n</body></html>\n"
    )
