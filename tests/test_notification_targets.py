"""Which addresses the stub calls back (server/notifications/targets.py): loopback, or the allow-list."""

from __future__ import annotations

import asyncio

import pytest

from vevents.server.notifications.targets import TargetPolicy, TargetRefused


def _resolve(policy: TargetPolicy, url: str) -> str:
    return asyncio.run(policy.resolve(url)).address


def test_loopback_by_name_and_address_is_allowed() -> None:
    policy = TargetPolicy()
    assert _resolve(policy, "http://127.0.0.1:9/hook") == "127.0.0.1"
    assert _resolve(policy, "http://localhost:9/hook") in ("127.0.0.1", "::1")


@pytest.mark.parametrize(
    "url", ["https://192.0.2.1/hook", "http://10.1.2.3/", "http://[2001:db8::1]/", "http://169.254.169.254/latest"]
)
def test_other_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused, match="allow-listed"):
        _resolve(TargetPolicy(), url)


def test_the_allow_list_admits_ranges_addresses_and_any() -> None:
    assert _resolve(TargetPolicy(["192.0.2.0/24"]), "https://192.0.2.7/hook") == "192.0.2.7"
    assert _resolve(TargetPolicy(["10.1.2.3"]), "http://10.1.2.3/") == "10.1.2.3"
    assert _resolve(TargetPolicy(["*"]), "http://198.51.100.4/") == "198.51.100.4"
    with pytest.raises(TargetRefused):
        _resolve(TargetPolicy(["192.0.2.0/24"]), "https://198.51.100.4/hook")


def test_a_name_is_judged_by_what_it_resolves_to() -> None:
    # "localhost" may be allow-listed by name or not: it resolves to loopback either way. A
    # name listed is still refused when it does not resolve.
    with pytest.raises(TargetRefused, match="resolved"):
        _resolve(TargetPolicy(["no-such-host.invalid"]), "https://no-such-host.invalid/hook")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "https://u:p@127.0.0.1/", "127.0.0.1/hook", "https:///x"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        _resolve(TargetPolicy(["*"]), url)
