"""Which webhook URLs a portal may configure: http(s) only, no credentials in the URL, and never the gateway
itself (its public address, or loopback on its own port): a loop would deliver events to our own API."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

MAX_LENGTH = 2000
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class BadUrl(ValueError):
    """The URL is refused; the message says why."""


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise BadUrl("the port is not a number between 0 and 65535") from exc
    return port or (443 if parts.scheme == "https" else 80)


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def check(url: str, public_url: str, listen_port: int | None = None) -> str:
    """Return the URL if a portal may use it, else raise :class:`BadUrl`."""
    if len(url) > MAX_LENGTH:
        raise BadUrl(f"at most {MAX_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise BadUrl("the URL contains spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadUrl("only http and https URLs are allowed")
    host = (parts.hostname or "").strip("[]")
    if not host:
        raise BadUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise BadUrl("credentials in the URL are not allowed; the signature authenticates the gateway")
    if parts.fragment:
        raise BadUrl("a fragment is never sent; remove it")
    port = _port(parts)
    own = urlsplit(public_url)
    own_host = (own.hostname or "").lower()
    own_port = _port(own)
    if host.lower() == own_host and port == own_port:
        raise BadUrl("the URL points at the gateway itself")
    if _is_loopback(host) and port in {own_port, listen_port}:
        raise BadUrl("the URL points at the gateway itself")
    return url
