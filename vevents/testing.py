"""`vevents.testing`: the `vevents_stub` pytest fixture, for integrators' own test suites.

Installed with vevents, registered through the `pytest11` entry point: any test may ask for
`vevents_stub` without importing anything::

    def test_my_sync_retries_when_throttled(vevents_stub):
        vevents_stub.add_fault("throttle", operation_id="getWebinar", times=2, retry_after=0)
        my_sync(base_url=vevents_stub.base_url, token=vevents_stub.token())
        assert vevents_stub.calls("getWebinar") == 3

One stub serves the whole session, in a thread, on 127.0.0.1 and an ephemeral port (starting
one costs about half a second); each test gets it back as it started - the seed's events, no
fault rules, no read lag, an empty journal - through the control API's reset, which costs a
few milliseconds (bench/fixture_overhead.py, docs/benchmarks.md). Every method of the stub
is a call to the control API (docs/control.md) over the socket, as from any other language.

This module is imported by pytest at start-up wherever vevents is installed, so it imports
nothing heavy until a test asks for the fixture.
"""

from __future__ import annotations

import contextlib
import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    import datetime

    import httpx

    from vevents.server.settings import Settings

__all__ = [
    "ControlError",
    "StubServer",
    "VeventsStub",
    "vevents_server",
    "vevents_server_tls",
    "vevents_stub",
    "vevents_stub_tls",
]

_VERSION = "v1.0"


class StubServer:
    """One stub in a background thread (in-memory store), with an HTTP client for its control API.

    Built for reuse across tests; `stub()` resets it and hands out the per-test view. With
    `tls=True` it serves HTTPS with the local test CA (`vevents.server.tls.local_ca(tls_dir)`,
    the per-user one by default, as `vevents serve --tls`): `base_url` then starts with
    `https://` and `ca_cert` names the CA file clients must trust.
    """

    def __init__(self, settings: Settings | None = None, *, tls: bool = False, tls_dir: str | None = None) -> None:
        from vevents.server.settings import Settings

        self.settings = settings or Settings(memory=True, port=0, log_level="warning")
        self.tls = tls
        self.tls_dir = tls_dir
        self.root_url = ""
        self.ca_cert: str | None = None
        self._stack = contextlib.ExitStack()
        self._client: httpx.Client | None = None
        self._reset: Callable[[], None] | None = None

    def start(self) -> StubServer:
        import httpx

        from vevents.server.app import create_app
        from vevents.server.background import serve_in_background

        tls = None
        if self.tls:
            from pathlib import Path

            from vevents.server.tls import local_ca

            tls = local_ca(Path(self.tls_dir) if self.tls_dir else None)
            self.ca_cert = str(tls.ca_cert)
        app = create_app(self.settings)
        self._reset = app.control.reset
        self.root_url = self._stack.enter_context(
            serve_in_background(app, host=self.settings.host, log_level=self.settings.log_level, tls=tls)
        )
        headers = {"Authorization": f"Bearer {self.settings.control_token}"} if self.settings.control_token else {}
        verify = ssl.create_default_context(cafile=self.ca_cert) if self.ca_cert else True
        self._client = self._stack.enter_context(
            httpx.Client(base_url=self.root_url + "/_vevents", headers=headers, timeout=30, verify=verify)
        )
        return self

    def stop(self) -> None:
        self._stack.close()

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the control API; the JSON answer (None for 204). A refusal raises `ControlError`."""
        if self._client is None:
            raise RuntimeError("the stub is not started")
        response = self._client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ControlError(response.status_code, response.text)
        return response.json() if response.content else None

    def stub(self) -> VeventsStub:
        """The stub as it started, for one test: what `POST /_vevents/reset` does, called in-process
        (the stub is in this process; its state is guarded by locks), which spares each test a
        request through the whole stack."""
        if self._reset is None:
            raise RuntimeError("the stub is not started")
        self._reset()
        return VeventsStub(self)


class ControlError(Exception):
    """The control API refused a call (bad rule, unknown event...); the message is its answer."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class VeventsStub:
    """A running stub, fresh for this test: where it listens, tokens it trusts, and its controls."""

    def __init__(self, server: StubServer) -> None:
        self._server = server
        self.root_url = server.root_url
        """e.g. `http://127.0.0.1:43117` (the control API is under `/_vevents`)."""
        self.base_url = f"{server.root_url}/{_VERSION}"
        """The Graph root to give your client, e.g. `http://127.0.0.1:43117/v1.0`."""
        self.beta_url = f"{server.root_url}/beta"
        self.ca_cert = server.ca_cert
        """The CA file that signs the stub's certificate (HTTPS only; None over HTTP)."""

    # ------------------------------------------------------------ tokens and URLs
    def token(
        self,
        *,
        scopes: Iterable[str] | None = None,
        roles: Iterable[str] = (),
        tenant: str | None = None,
        user: str | None = None,
        expires_in: int = 3600,
    ) -> str:
        """A bearer token the stub trusts; the options of `vevents token` (default: the seed's
        organizer with delegated `VirtualEvent.ReadWrite`)."""
        from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token

        return mint_token(
            secret=self._server.settings.secret,
            tenant=tenant or SEED_TENANT,
            user=user or SEED_ORGANIZER,
            scopes=scopes,
            roles=roles,
            expires_in=expires_in,
        )

    def headers(self, **token_options: Any) -> dict[str, str]:
        """`{"Authorization": "Bearer <token(**token_options)>"}`."""
        return {"Authorization": f"Bearer {self.token(**token_options)}"}

    def event_url(self, kind: str, event_id: str, action: str | None = None) -> str:
        """The Graph URL of an event (id `%40`-encoded, as the SDKs send it), or of an action on it."""
        url = f"{self.base_url}/solutions/virtualEvents/{kind}/{quote(event_id, safe='')}"
        return f"{url}/{action}" if action else url

    # ------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to the seed's events, no fault rules, no lag, an empty journal."""
        self._server.control("POST", "/reset")

    def load(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Add (or replace) events given in the `--seed` format; how many were loaded."""
        return int(self._server.control("POST", "/events", json={"events": list(events)})["loaded"])

    def events(self, kind: str | None = None, *, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every event the stub holds (of one kind, of one tenant), as stored."""
        params = {k: v for k, v in (("kind", kind), ("tenant", tenant)) if v is not None}
        return list(self._server.control("GET", "/events", params=params)["value"])

    def event(self, kind: str, event_id: str) -> dict[str, Any]:
        """One event as stored (whatever the read lag)."""
        return dict(self._server.control("GET", f"/events/{kind}/{quote(event_id, safe='')}"))

    def arrange(
        self,
        kind: str,
        status: str,
        *,
        organizer: str | None = None,
        co_organizers: Sequence[str] = (),
        event_id: str | None = None,
        tenant: str | None = None,
        **properties: Any,
    ) -> dict[str, Any]:
        """Create (or replace) an event of `kind` in `status` - e.g. an already canceled webinar -
        with its organizer (default the seed's) and co-organizers; returns it (with its `id`)."""
        from vevents.server.auth import SEED_TENANT

        event_id = event_id or f"{uuid.uuid4()}@{tenant or SEED_TENANT}"
        body: dict[str, Any] = {"status": status, "coOrganizers": list(co_organizers), "properties": properties}
        if organizer is not None:
            body["organizer"] = organizer
        return dict(self._server.control("PUT", f"/events/{kind}/{quote(event_id, safe='')}", json=body))

    # ------------------------------------------------------------ registrations, sessions, presenters
    def arrange_member(
        self, kind: str, event_id: str, collection: str, resource: Mapping[str, Any], *, member_id: str | None = None
    ) -> dict[str, Any]:
        """Create (or replace) one of the event's `registrations`, `questions`, `sessions` or
        `presenters` with the Graph resource given (stored as given; e.g. an already canceled
        registration); returns it (with its `id`, a new GUID unless `member_id` is given)."""
        member_id = member_id or str(uuid.uuid4())
        path = f"/events/{kind}/{quote(event_id, safe='')}/{collection}/{quote(member_id, safe='')}"
        return dict(self._server.control("PUT", path, json=dict(resource)))

    def members(self, kind: str, event_id: str, collection: str) -> list[dict[str, Any]]:
        """The event's `registrations`, `questions`, `sessions` (arranged ones) or `presenters`, as stored."""
        path = f"/events/{kind}/{quote(event_id, safe='')}/{collection}"
        return list(self._server.control("GET", path)["value"])

    # ------------------------------------------------------------ journal
    def journal(
        self,
        *,
        operation_id: str | None = None,
        method: str | None = None,
        status: int | None = None,
        event_id: str | None = None,
        since: datetime.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The requests the Graph routes answered, oldest first, filtered (see docs/control.md)."""
        params: dict[str, Any] = {
            k: v
            for k, v in (("operationId", operation_id), ("method", method), ("status", status), ("eventId", event_id))
            if v is not None
        }
        if since is not None:
            params["since"] = since.isoformat()
        return list(self._server.control("GET", "/journal", params=params)["value"])

    def calls(self, operation_id: str, **filters: Any) -> int:
        """How many requests for `operation_id` the stub answered (e.g. `calls("cancelWebinar") == 1`)."""
        return len(self.journal(operation_id=operation_id, **filters))

    def clear_journal(self) -> None:
        self._server.control("DELETE", "/journal")

    # ------------------------------------------------------------ faults
    def add_fault(
        self,
        action: str,
        *,
        operation_id: str | None = None,
        method: str | None = None,
        kind: str | None = None,
        event_id: str | None = None,
        times: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        retry_after: int = 1,
        delay_ms: int = 0,
    ) -> dict[str, Any]:
        """Add a fault rule; returns it with its `id`. `action`: throttle (429), unavailable (503),
        gatewayTimeout (504), delay, drop. With none of times/every/probability it fires on
        every matching request."""
        match = {
            k: v
            for k, v in (("operationId", operation_id), ("method", method), ("kind", kind), ("eventId", event_id))
            if v is not None
        }
        rule: dict[str, Any] = {"action": action, "retryAfterSeconds": retry_after, "delayMs": delay_ms, "match": match}
        for name, value in (("times", times), ("every", every), ("probability", probability), ("seed", seed)):
            if value is not None:
                rule[name] = value
        return dict(self._server.control("POST", "/faults", json=rule))

    def faults(self) -> list[dict[str, Any]]:
        """The rules, with how often each has matched and fired."""
        return list(self._server.control("GET", "/faults")["value"])

    def remove_fault(self, rule_id: int) -> None:
        self._server.control("DELETE", f"/faults/{int(rule_id)}")

    def clear_faults(self) -> None:
        self._server.control("DELETE", "/faults")

    # ------------------------------------------------------------ read lag
    def set_read_lag(self, ms: int, *, event_id: str | None = None) -> None:
        """Writes from now on show in reads only `ms` later (for one event, or all)."""
        body: dict[str, Any] = {"ms": ms}
        if event_id is not None:
            body["eventId"] = event_id
        self._server.control("PUT", "/lag", json=body)

    def clear_read_lag(self) -> None:
        """No lag, and every write made so far shows at once."""
        self._server.control("DELETE", "/lag")

    # ------------------------------------------------------------ change notifications
    def subscriptions(self) -> list[dict[str, Any]]:
        """Every live subscription the stub holds (every tenant), with its `tenantId`."""
        return list(self._server.control("GET", "/subscriptions")["value"])

    def deliveries(
        self,
        *,
        after: int = 0,
        subscription_id: str | None = None,
        kind: str | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every delivery attempt (handshakes, change and lifecycle notifications) and its outcome,
        oldest first (docs/notifications.md)."""
        params = _params(after=after, subscriptionId=subscription_id, kind=kind, outcome=outcome)
        return list(self._server.control("GET", "/deliveries", params=params)["value"])

    def next_delivery(
        self,
        *,
        after: int | None = None,
        subscription_id: str | None = None,
        kind: str | None = "notification",
        outcome: str | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The first delivery attempt after `after` (default: the latest so far) matching the filters,
        waiting up to `timeout` seconds for it; AssertionError if none came."""
        if after is None:
            after = int(self._server.control("GET", "/deliveries", params={"after": 2**62})["lastSeq"])
        params = _params(after=after, subscriptionId=subscription_id, kind=kind, outcome=outcome)
        params["waitMs"] = int(min(timeout, 30.0) * 1000)
        found = self._server.control("GET", "/deliveries", params=params)["value"]
        if not found:
            raise AssertionError(f"no delivery matching {params} within {timeout:g} s")
        return dict(found[0])

    def last_delivery_seq(self) -> int:
        """The `seq` of the latest delivery attempt (pass it as `after` to wait for the next one)."""
        return int(self._server.control("GET", "/deliveries", params={"after": 2**62})["lastSeq"])

    def fire_notification(self, subscription_id: str, change_type: str | None = None) -> None:
        """Send a change notification for the subscription now, as a change of its resource would."""
        body = {} if change_type is None else {"changeType": change_type}
        self._server.control("POST", f"/subscriptions/{quote(subscription_id, safe='')}/notify", json=body)

    def fire_lifecycle(self, subscription_id: str, event: str) -> bool:
        """Send a lifecycle notification (reauthorizationRequired, subscriptionRemoved, missed);
        False if the subscription has no lifecycleNotificationUrl."""
        path = f"/subscriptions/{quote(subscription_id, safe='')}/lifecycle"
        return bool(self._server.control("POST", path, json={"lifecycleEvent": event})["sent"])

    def expire_subscription(self, subscription_id: str) -> None:
        """The subscription expires now: Graph's routes no longer find it, nothing is sent for it."""
        self._server.control("POST", f"/subscriptions/{quote(subscription_id, safe='')}/expire")

    def shape_deliveries(self, *, delay_ms: int = 0, fail: int = 0, fail_status: int = 0) -> None:
        """Make every delivery attempt wait `delay_ms`, and the next `fail` attempts fail (not sent,
        or journaled as answered `fail_status`); failed attempts are retried as any failure is."""
        body = {"delayMs": delay_ms, "fail": fail, "failStatus": fail_status}
        self._server.control("PUT", "/deliveries/behaviour", json=body)


def _params(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


@pytest.fixture(scope="session")
def vevents_server() -> Iterator[StubServer]:
    """The session's one stub (started on first use). Tests use `vevents_stub`."""
    server = StubServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vevents_stub(vevents_server: StubServer) -> VeventsStub:
    """A stub on 127.0.0.1 in the state it started in: its own state for this test."""
    return vevents_server.stub()


@pytest.fixture(scope="session")
def vevents_server_tls() -> Iterator[StubServer]:
    """The session's one HTTPS stub (started on first use). Tests use `vevents_stub_tls`."""
    server = StubServer(tls=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vevents_stub_tls(vevents_server_tls: StubServer) -> VeventsStub:
    """`vevents_stub` over HTTPS: `base_url` is `https://127.0.0.1:<port>/v1.0`, and `ca_cert` the
    local test CA to trust (`NODE_EXTRA_CA_CERTS`, httpx `verify=`); for clients, such as
    Microsoft's JavaScript client, that send tokens only over HTTPS."""
    return vevents_server_tls.stub()
