"""Which URLs the stub may call back: loopback by default, other hosts only if allow-listed.

A shared stub must not become a way to make requests to arbitrary hosts (an internal admin
page, a cloud metadata address). So a notification URL is judged on the address its host
resolves to, every address of it, and the client then connects to that very address: a name
that resolves to loopback for the check and elsewhere for the connection (DNS rebinding)
gets nowhere. The operator widens the rule with `--notify-allow` (host names, addresses or
CIDR ranges; `*` for any).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

__all__ = ["ANY", "ResolvedTarget", "TargetPolicy", "TargetRefused"]

ANY = "*"
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL may not be called (scheme, host, address); the message says why, for the 400."""


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A URL judged callable, and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    target: str
    """The request target: path and query."""

    def with_query(self, name: str, value: str) -> ResolvedTarget:
        from urllib.parse import quote

        separator = "&" if "?" in self.target else "?"
        return ResolvedTarget(
            self.url, self.scheme, self.host, self.port, self.address, f"{self.target}{separator}{name}={quote(value)}"
        )


class TargetPolicy:
    """The rule: loopback always; otherwise a host, address or range of `allow` (or `*`)."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.any = False
        self.names: set[str] = set()
        self.networks: list[_Network] = []
        for entry in allow:
            entry = entry.strip().lower()
            if not entry:
                continue
            if entry == ANY:
                self.any = True
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry.rstrip("."))

    def _allowed(self, host: str, address: _Address) -> bool:
        if self.any or address.is_loopback:
            return True
        return host in self.names or any(address in network for network in self.networks)

    async def resolve(self, url: str) -> ResolvedTarget:
        """Judge `url`; the target to connect to, or TargetRefused."""
        parts = _split(url)
        host = (parts.hostname or "").lower().rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise TargetRefused(f"The URL '{url}' has an invalid port.") from None
        addresses = await _addresses(host, port, url)
        if not addresses:
            raise TargetRefused(f"The host of '{url}' could not be resolved.")
        refused = [a for a in addresses if not self._allowed(host, a)]
        if refused:
            raise TargetRefused(
                f"This stub does not send notifications to '{url}' ({refused[0]}): only to loopback "
                "addresses and to hosts its operator allow-listed (vevents serve --notify-allow)."
            )
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        return ResolvedTarget(url, parts.scheme, host, port, str(addresses[0]), target)


async def _addresses(host: str, port: int, url: str) -> list[_Address]:
    """Every address `host` stands for; an address literal without a lookup (no resolver thread)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(f"The host of '{url}' could not be resolved.") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise TargetRefused(f"'{url}' is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused(f"The notification URL must be an absolute https:// URL, not '{url}'.")
    if parts.username or parts.password:
        raise TargetRefused("The notification URL must not carry credentials.")
    if any(ch in url for ch in "\r\n\t "):
        raise TargetRefused("The notification URL must not contain whitespace.")
    return parts
