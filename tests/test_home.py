"""The stub's root URL answers a page of links (HTML, or JSON on request) instead of a 404."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from vevents.server.app import create_app
from vevents.server.home import DOCS
from vevents.server.settings import Settings
from vevents.spec import contract

ROOT = Path(__file__).resolve().parents[1]


async def _get(settings: Settings, accept: str, base_url: str = "http://127.0.0.1:8080") -> httpx.Response:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
        return await client.get("/", headers={"Accept": accept})


@pytest.mark.anyio
@pytest.mark.parametrize("accept", ["text/html,application/xhtml+xml,*/*;q=0.8", "*/*", ""])
async def test_root_is_a_page_linking_both_swagger_uis_the_control_api_and_the_docs(accept: str) -> None:
    response = await _get(Settings(memory=True), accept)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    links = set(re.findall(r'href="([^"]+)"', response.text))
    for version in contract().versions:
        assert f"http://127.0.0.1:8080/{version}/ui/" in links
    assert "http://127.0.0.1:8080/_vevents/ui/" in links
    for path, _about in DOCS:
        assert path in response.text


@pytest.mark.anyio
async def test_root_answers_json_when_asked_and_every_link_works() -> None:
    settings = Settings(memory=True)
    response = await _get(settings, "application/json")
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    urls = [url for version in body["versions"].values() for url in version.values()]
    urls += [body["control"]["swaggerUi"], body["control"]["openapi"]]
    assert set(body["versions"]) == set(contract().versions)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080") as client:
        for url in urls:
            if url.endswith(("/v1.0", "/beta")):
                continue  # an API root, not a page
            assert (await client.get(url)).status_code == 200, url


@pytest.mark.anyio
async def test_root_links_carry_the_scheme_and_host_the_client_used() -> None:
    body = (await _get(Settings(memory=True), "application/json", base_url="https://localhost:8443")).json()
    assert body["versions"]["v1.0"]["swaggerUi"] == "https://localhost:8443/v1.0/ui/"


@pytest.mark.anyio
async def test_root_says_when_the_control_api_is_not_served() -> None:
    settings = Settings(memory=True, host="0.0.0.0")  # not loopback, no control token: control API off
    assert (await _get(settings, "application/json")).json()["control"] is None
    page = (await _get(settings, "text/html")).text
    assert "/_vevents/" not in page and "--control-token" in page


def test_docs_listed_on_the_root_page_exist() -> None:
    assert [path for path, _about in DOCS if not (ROOT / path).is_file()] == []
