"""Reading a webhook URL the way the sender will use it: one parser (yarl's, by which aiohttp sends the request)
for the save and for every send, so a URL that was accepted is one the sender can read. Whether its host may be reached
is a question of addresses, answered where the connection is made (``addresses``, ``transport``)."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

import idna
from yarl import URL

MAX_LENGTH = 2000


_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


class BadUrl(ValueError):
    """The URL is refused; the message says why."""


@dataclass(frozen=True)
class WebhookUrl:
    url: str  # as the portal gave it (and as it is stored)
    scheme: str
    host: str  # as the sender connects to it: IDNA-encoded, lower-case, IPv6 without brackets
    port: int


def _port(url: URL) -> int:
    return url.explicit_port if url.explicit_port is not None else (443 if url.scheme == "https" else 80)


def parse(url: str) -> WebhookUrl:
    """Return the parts of a URL a portal may use, else raise :class:`BadUrl`."""
    if len(url) > MAX_LENGTH:
        raise BadUrl(f"at most {MAX_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise BadUrl("the URL contains spaces or control characters")
    try:
        parsed = URL(url)
        parsed.host  # noqa: B018 - decoding the IDNA name back refuses names no resolver could look up
        host = parsed.raw_host or ""
        host.encode("ascii")
        port = _port(parsed)
    except (ValueError, UnicodeError, TypeError, IndexError) as exc:  # IndexError: yarl on ``http://[::1]@/``
        raise BadUrl("the URL cannot be read (check the host name and the port)") from exc
    if parsed.scheme not in ("http", "https") or not url.lower().startswith(parsed.scheme + "://"):
        raise BadUrl("only http and https URLs are allowed")
    if not host:
        raise BadUrl("the URL has no host")
    authority = re.split(r"[/?#]", url.split("://", 1)[1], maxsplit=1)[0]
    if "@" in authority or parsed.raw_user is not None or parsed.raw_password is not None:
        raise BadUrl("credentials in the URL are not allowed; the signature authenticates the gateway")
    written = _written_host(authority)
    if written is None or ("[" in authority and not isinstance(_address(host), ipaddress.IPv6Address)):
        raise BadUrl("the URL cannot be read (check the host name and the port)")
    if parsed.raw_fragment or "#" in url:
        raise BadUrl("a fragment is never sent; remove it")
    if not 0 < port < 65536:
        raise BadUrl("the port is not a number between 1 and 65535")
    if "%" in host or not _well_formed(host, written):
        raise BadUrl("the URL cannot be read (check the host name and the port)")
    return WebhookUrl(url=url, scheme=parsed.scheme, host=host.lower(), port=port)


def _written_host(authority: str) -> str | None:
    """The host as the portal wrote it, from the URL's authority (no credentials in it by then); None when its port
    is not plain ASCII digits (``:+80``, ``:８０`` and ``:8_0`` are read as numbers by the sender's parser, by few
    others) or something follows an IPv6 address's bracket but its port."""
    if authority.startswith("["):
        host, bracket, rest = authority[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") or not rest else None
    else:
        host, _, port = authority.partition(":")
        bracket = "]"
    if not bracket or port is None or not re.fullmatch(r"[0-9]{0,5}", port):
        return None
    return host


def _well_formed(raw: str, written: str) -> bool:
    """An IP address, or a host name as DNS has them: labels of letters, digits, hyphens (and underscores), one
    trailing dot at most, not an address in a form only some parsers read (``127.1``, ``0x7f000001``, a name ending
    in a number), and exactly the name the portal wrote: an internationalised name as strict IDNA 2008 encodes it,
    with nothing mapped (the sender's parser maps look-alike characters, ``ex⒈ample`` to ``ex1.ample``, full-width
    dots to dots, which would send to a name the portal did not write)."""
    if _address(raw) is not None:
        return True
    try:
        socket.inet_aton(raw.removesuffix("."))  # 0x7f000001, 127.1 (a trailing dot too): read as an address
        return False
    except (OSError, ValueError):
        pass
    name = raw.lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return False
    text = written.lower().removesuffix(".")
    if any(dot in text for dot in "\u3002\uff0e\uff61"):  # dots IDNA reads as "." that the portal did not write
        return False
    if text.isascii():
        return text == name
    try:
        return idna.encode(text, uts46=False).decode("ascii") == name
    except (idna.IDNAError, UnicodeError):
        return False


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_gateway(found: WebhookUrl, public_url: str) -> bool:
    """The gateway's own public address, by name: a loop would deliver events to our own API."""
    own = URL(public_url)
    return found.host.rstrip(".") == (own.raw_host or "").lower().rstrip(".") and found.port == _port(own)
