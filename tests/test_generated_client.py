"""A client generated from the spec (openapi-python-client) drives the stub end to end.

This is the third user story: generate a client from `spec/virtual-events.yaml`, point it
at the stub, and get typed models and typed errors back. The client is generated into a
temporary folder at test time, so the test breaks as soon as the spec stops generating.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from conftest import Stub

from vevents.spec import spec_path

pytestmark = pytest.mark.slow

PACKAGE = "vevents_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ModuleType]]:
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator, "openapi-python-client is a test dependency (pip install -e '.[test]')"
    root = tmp_path_factory.mktemp("client")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [generator, "generate", "--path", spec_path(), "--meta", "none", "--output-path", str(root / PACKAGE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation and schema must come through; the generator drops what it cannot parse.
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_generated_client_drives_the_lifecycle(
    generated: Callable[[str], ModuleType], stub: Stub, make_token: Callable[..., str]
) -> None:
    client_module = generated("client")
    models = generated("models")
    create = generated("api.webinars.create_webinar")
    publish = generated("api.webinars.publish_webinar")
    get = generated("api.webinars.get_webinar")
    cancel = generated("api.webinars.cancel_webinar")
    cancel_event = generated("api.events.cancel_event")

    with client_module.AuthenticatedClient(base_url=f"{stub.base_url}/v1.0", token=make_token()) as client:
        body = models.CreateWebinarBody.from_dict(
            {
                "displayName": "Generated-client webinar",
                "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
                "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
            }
        )
        created = create.sync_detailed(client=client, body=body)
        assert created.status_code == 201, created.content
        webinar = created.parsed
        assert isinstance(webinar, models.VirtualEventWebinar)
        assert webinar.status == models.VirtualEventStatus.DRAFT
        assert "@" in webinar.id

        assert publish.sync_detailed(webinar.id, client=client).status_code == 204
        assert get.sync(webinar.id, client=client).status == models.VirtualEventStatus.PUBLISHED

        canceled = cancel.sync_detailed(webinar.id, client=client)
        assert (canceled.status_code, canceled.content) == (204, b"")
        after = get.sync(webinar.id, client=client)
        assert isinstance(after, models.VirtualEventWebinar)
        assert after.status == models.VirtualEventStatus.CANCELED

        # Canceling again through the SDK route leaves it canceled, whatever it answers.
        cancel_event.sync_detailed(webinar.id, client=client)
        assert get.sync(webinar.id, client=client).status == models.VirtualEventStatus.CANCELED


def test_generated_client_gets_a_typed_error_for_an_unknown_id(
    generated: Callable[[str], ModuleType], stub: Stub, make_token: Callable[..., str]
) -> None:
    client_module = generated("client")
    models = generated("models")
    get = generated("api.townhalls.get_townhall")
    unknown = "00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
    with client_module.AuthenticatedClient(base_url=f"{stub.base_url}/beta", token=make_token()) as client:
        response = get.sync_detailed(unknown, client=client)
    assert response.status_code == 404
    assert isinstance(response.parsed, models.ODataError)
    assert response.parsed.error.code == "itemNotFound"
    assert response.parsed.error.inner_error.request_id == response.headers["request-id"]
