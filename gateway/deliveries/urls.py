"""Reading a webhook URL the way the sender will use it: one parser (httpx's, which sends the request) for the
save and for every send, so a URL that was accepted is one the sender can read. Whether its host may be reached
is a question of addresses, answered where the connection is made (``addresses``, ``transport``)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

MAX_LENGTH = 2000


class BadUrl(ValueError):
    """The URL is refused; the message says why."""


@dataclass(frozen=True)
class WebhookUrl:
    url: str  # as the portal gave it (and as it is stored)
    scheme: str
    host: str  # as the sender connects to it: IDNA-encoded, lower-case, IPv6 without brackets
    port: int


def _port(url: httpx.URL) -> int:
    return url.port if url.port is not None else (443 if url.scheme == "https" else 80)


def parse(url: str) -> WebhookUrl:
    """Return the parts of a URL a portal may use, else raise :class:`BadUrl`."""
    if len(url) > MAX_LENGTH:
        raise BadUrl(f"at most {MAX_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise BadUrl("the URL contains spaces or control characters")
    try:
        parsed = httpx.URL(url)
        parsed.host  # noqa: B018 - decoding the IDNA name back refuses names no resolver could look up
        host = parsed.raw_host.decode("ascii")
        port = _port(parsed)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise BadUrl("the URL cannot be read (check the host name and the port)") from exc
    if parsed.scheme not in ("http", "https") or not url.lower().startswith(parsed.scheme + "://"):
        raise BadUrl("only http and https URLs are allowed")
    if not host:
        raise BadUrl("the URL has no host")
    if parsed.userinfo:
        raise BadUrl("credentials in the URL are not allowed; the signature authenticates the gateway")
    if parsed.fragment or "#" in url:
        raise BadUrl("a fragment is never sent; remove it")
    if not 0 < port < 65536:
        raise BadUrl("the port is not a number between 1 and 65535")
    if "%" in host:
        raise BadUrl("the URL cannot be read (check the host name and the port)")
    return WebhookUrl(url=url, scheme=parsed.scheme, host=host.lower(), port=port)


def is_gateway(found: WebhookUrl, public_url: str) -> bool:
    """The gateway's own public address, by name: a loop would deliver events to our own API."""
    own = httpx.URL(public_url)
    return found.host.rstrip(".") == own.host.lower().rstrip(".") and found.port == _port(own)
