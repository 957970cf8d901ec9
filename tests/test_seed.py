"""Seed files (docs/seeds.md): the schema, one-line errors, a store that already holds events, the banner.

`vevents serve` runs in-process through click's CliRunner with uvicorn's serving loop replaced
by a no-op that keeps the app: everything up to serving (settings, seed, store, banner) is the
real command; the banner's "Try it" request is then sent to that app.
"""

from __future__ import annotations

import gc
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
import pytest
import uvicorn
import yaml
from click.testing import CliRunner, Result
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID
from starlette.testclient import TestClient

from vevents.cli import main
from vevents.server.app import create_app
from vevents.server.auth import mint_token
from vevents.server.seed import SeedError, load_seed, seed_store
from vevents.server.settings import Settings
from vevents.server.store import MemoryStore
from vevents.spec import contract, load_yaml_file
from vevents.spec.seed import seed_problems, seed_schema_path

WEBINAR, TOWNHALL = contract().odata_types["webinars"], contract().odata_types["townhalls"]
CUSTOM_ID = f"0f0f0f0f-1111-4222-8333-444444444444@{OTHER_TENANT}"


def _event(**overrides: Any) -> dict[str, Any]:
    event = {
        "@odata.type": WEBINAR,
        "id": CUSTOM_ID,
        "status": "published",
        "displayName": "Custom",
        "createdBy": {"user": {"id": OTHER_USER, "tenantId": OTHER_TENANT}},
    }
    event.update(overrides)
    return event


def _seed_file(tmp_path: Path, events: Any, name: str = "seed.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"events": events} if isinstance(events, list) else events))
    return path


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """`vevents serve ARGS` up to serving; returns (result, the app it would serve or None)."""
    apps: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: apps.append(self.config.app))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[Result, Any]:
        apps.clear()
        result = CliRunner().invoke(main, ["serve", "--port", "0", "--log-level", "warning", *args])
        if apps:
            apps[0].store.close()
        return result, apps[0] if apps else None

    return run


def _try_it(output: str) -> tuple[str, str]:
    """The banner's curl line: (Authorization header value, URL)."""
    line = next(line for line in output.splitlines() if line.strip().startswith("curl "))
    words = shlex.split(line)
    return words[words.index("-H") + 1].split(": ", 1)[1], words[-1]


# ------------------------------------------------------------ the schema and one-line errors
def test_the_shipped_seed_and_the_documentation_sample_fit_the_schema() -> None:
    assert Path(seed_schema_path()).is_file()
    document = load_yaml_file(Path(__file__).parents[1] / "server" / "default-seed.yaml")
    assert seed_problems(document) == []
    assert [e.id for e in load_seed(None)] == [SAMPLE_ID, SAMPLE_ID]


BAD_SEEDS = [
    # (events or document, the event named, the field named, a part of the message)
    ([_event(), _event(id=SAMPLE_ID, displayName=5)], f"event 2 (id {SAMPLE_ID})", "displayName:", "not of type"),
    ([_event(status="finished")], "event 1", "status:", "'finished' is not one of"),
    ([_event(**{"@odata.type": "#microsoft.graph.meeting"})], "event 1", "@odata.type:", "must be one of"),
    ([{"@odata.type": TOWNHALL, "status": "draft"}], "event 1", "", "'id' is a required property"),
    ([_event(id="not-a-guid@nope")], "event 1 (id not-a-guid@nope)", "id:", "<guid>@<tenant-guid>"),
    ([_event(), _event()], "event 2", "id:", "already in the seed"),
    ([_event(**{"@odata.type": TOWNHALL}, capacity="lots")], "event 1", "capacity:", "not of type 'integer'"),
    ([_event(description={"content": "x", "contentType": "pdf"})], "event 1", "description.contentType:", "pdf"),
    ({"evnts": []}, "", "", "expected a list of events"),
]


@pytest.mark.parametrize(("events", "which", "field", "what"), BAD_SEEDS)
def test_a_bad_seed_is_one_line_naming_the_file_the_event_and_the_field(
    serve: Any, tmp_path: Path, events: Any, which: str, field: str, what: str
) -> None:
    """Issue 14 item 2: a bad seed ended in a Python traceback."""
    path = _seed_file(tmp_path, events)
    result, app = serve("--memory", "--seed", str(path))
    assert result.exit_code == 2 and app is None, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output and f"seed file {path}:" in lines[0]
    assert which in lines[0] and field in lines[0] and what in lines[0], lines[0]


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("events: [\n  {'@odata.type': x\n", "not valid YAML/JSON at line"),
        ('{"events": [}', "not valid YAML/JSON at line 1"),
        ("just words\n", "expected a list of events"),
    ],
)
def test_a_seed_that_is_not_a_seed_is_one_line(serve: Any, tmp_path: Path, text: str, what: str) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(text)
    result, _app = serve("--memory", "--seed", str(path))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert what in result.output


def test_a_seed_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(SeedError, match=r"^seed file .*dir.yaml: cannot read it: Is a directory$"):
        load_seed(str(tmp_path / "dir.yaml"))


# ------------------------------------------------------------ a store that already holds events
def test_seed_on_a_store_holding_other_events_is_refused_with_what_to_do(serve: Any, tmp_path: Path) -> None:
    """Issue 14 item 2: `--seed FILE` was silently ignored once ./vevents.db existed; the event answered 404."""
    assert serve()[0].exit_code == 0  # the first run: ./vevents.db with the default seed
    path = _seed_file(tmp_path, [_event()])
    result, app = serve("--seed", str(path))
    assert result.exit_code == 2 and app is None
    assert result.output.count("\n") == 1 and "already holds other events" in result.output
    assert "--reseed" in result.output and "vevents.db" in result.output

    result, app = serve("--seed", str(path), "--reseed")
    assert result.exit_code == 0, result.output
    client = TestClient(app)
    token = mint_token(secret=Settings().secret, tenant=OTHER_TENANT, user=OTHER_USER)
    url = f"/v1.0/solutions/virtualEvents/webinars/{CUSTOM_ID}"
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    sample = mint_token(secret=Settings().secret)
    assert (
        client.get(
            f"/v1.0/solutions/virtualEvents/webinars/{SAMPLE_ID}", headers={"Authorization": f"Bearer {sample}"}
        ).status_code
        == 404
    )  # replaced


def test_a_restart_with_the_same_seed_keeps_the_state(serve: Any, tmp_path: Path) -> None:
    path = _seed_file(tmp_path, [_event()])
    result, app = serve("--seed", str(path))
    assert result.exit_code == 0, result.output
    headers = {"Authorization": "Bearer " + mint_token(secret=Settings().secret, tenant=OTHER_TENANT, user=OTHER_USER)}
    url = f"/v1.0/solutions/virtualEvents/webinars/{CUSTOM_ID}"
    with TestClient(app) as client:
        assert client.post(url + "/cancel", headers=headers).status_code == 204
    result, app = serve("--seed", str(path))
    assert result.exit_code == 0, result.output
    assert TestClient(app).get(url, headers=headers).json()["status"] == "canceled"


def test_the_default_seed_never_refuses_a_store(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    create_app(Settings(db=db, seed_path=str(_seed_file(tmp_path, [_event()])))).store.close()
    app = create_app(Settings(db=db))  # `vevents serve` again, without --seed: the store as it is
    assert [(e.kind, e.id) for e in app.store.find(CUSTOM_ID)] == [("webinars", CUSTOM_ID)]
    assert app.seeded.present == ()
    app.store.close()


# ------------------------------------------------------------ the banner
def test_the_banner_tries_an_event_of_a_custom_seed_with_its_organizer(serve: Any, tmp_path: Path) -> None:
    """Issue 14 item 2: with a custom seed, the banner's "Try it" curl still pointed at the sample event."""
    path = _seed_file(tmp_path, [_event(**{"@odata.type": TOWNHALL})])
    result, app = serve("--memory", "--seed", str(path))
    assert result.exit_code == 0, result.output
    authorization, url = _try_it(result.output)
    assert unquote(urlsplit(url).path).endswith(f"/townhalls/{CUSTOM_ID}")
    answer = TestClient(app).get(urlsplit(url).path, headers={"Authorization": authorization})
    assert answer.status_code == 200 and answer.json()["id"] == CUSTOM_ID
    claims = jwt.decode(authorization.split()[1], options={"verify_signature": False})
    assert (claims["tid"], claims["oid"]) == (OTHER_TENANT, OTHER_USER)  # its organizer: may cancel it too


def test_the_default_banner_request_works(serve: Any) -> None:
    result, app = serve("--memory")
    authorization, url = _try_it(result.output)
    answer = TestClient(app).get(urlsplit(url).path, headers={"Authorization": authorization})
    assert answer.status_code == 200 and answer.json()["id"] == SAMPLE_ID


def test_the_permissive_banner_promises_no_token_lifetime(serve: Any) -> None:
    """Issue 14 item 7: `--auth permissive` printed "token valid for 1 hour" next to `Bearer anything`."""
    result, app = serve("--memory", "--auth", "permissive")
    assert result.exit_code == 0, result.output
    assert "valid for" not in result.output and re.search(r"any bearer token", result.output)
    authorization, url = _try_it(result.output)
    assert authorization == "Bearer anything"
    assert TestClient(app).get(urlsplit(url).path, headers={"Authorization": authorization}).status_code == 200


@pytest.mark.parametrize("information", [[], [{"applicationId": "app", "externalEventId": "x1"}]])
def test_others_see_null_external_event_information_even_when_empty(information: list[Any]) -> None:
    """Issue 14 item 7: an empty `externalEventInformation` reached non-organizers as `[]`; docs/auth.md and
    Graph say `null` ("Returned only for event organizers or coorganizers; otherwise, null")."""
    app = create_app(Settings(memory=True))
    (event,) = app.store.find(SAMPLE_ID, "webinars")
    assert app.store.replace([event.changed(externalEventInformation=information)])
    client = TestClient(app)
    url = f"/v1.0/solutions/virtualEvents/webinars/{SAMPLE_ID}"
    other = mint_token(secret=Settings().secret, user=OTHER_USER, scopes=["VirtualEvent.Read"])
    organizer = mint_token(secret=Settings().secret)
    assert client.get(url, headers={"Authorization": f"Bearer {other}"}).json()["externalEventInformation"] is None
    seen = client.get(url, headers={"Authorization": f"Bearer {organizer}"}).json()["externalEventInformation"]
    assert seen == information


def test_seeding_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    # The collector is off while a seed is read and written (server/seed.py); it must come back
    # on after a seed, after a refused one, and stay off where the caller had turned it off.
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - id: 1\n", encoding="utf-8")
    assert gc.isenabled()
    assert seed_store(MemoryStore(), None).written == len(load_seed())
    assert gc.isenabled()
    with pytest.raises(SeedError):
        seed_store(MemoryStore(), str(bad))
    assert gc.isenabled()
    gc.disable()
    try:
        seed_store(MemoryStore(), None)
        assert not gc.isenabled()
    finally:
        gc.enable()
