"""HTTP to a partner (the payment hub, the post): one pooled aiohttp session per client, and what every exchange
with a partner holds to.

- It runs on aiohttp: a request cost about a millisecond of CPU through httpx (whose pool goes through anyio's
  locks and cancel scopes), about a tenth of that through aiohttp.
- The session is opened on first use, in the event loop that uses it; once closed, nothing more is sent.
- The environment's proxy for the partner (``HTTPS_PROXY`` or ``HTTP_PROXY`` by scheme, else ``ALL_PROXY``; none
  when ``NO_PROXY`` names the partner's host) is read once: aiohttp's own reading of the environment looks for a
  ``.netrc`` file in a thread on every request.
- Redirects are not followed: a message goes to the partner's address only, and a redirect is not its answer.
- Every exchange has a deadline as a whole besides its connect and read timeouts (a reply dripped a byte at a time
  cannot hold a request), but for a download, which takes what it takes.
- A reply larger than ``MAX_REPLY_BYTES`` is refused, read no further (a call that reads more, the post's day of
  COD collections, says how much).
- Kept-alive connections are dropped after ``KEEPALIVE_SECONDS``, before a server's usual idle timeout (uvicorn's
  5 s), so a request is not sent on one the partner is closing.

What a failure means is said in each client's own errors, which it names to ``exchange``: ``unsent`` when nothing
reached the partner (connecting, or waiting for a pooled connection, failed), ``unknown`` when the request was
sent, or may have been, and no answer of the partner's came back (a timeout, a reset, a reply too large, a 5xx, a
redirect). A download's failures are ``NotSent``: a GET changes nothing.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp

MAX_REPLY_BYTES = 1 << 20
KEEPALIVE_SECONDS = 4.0
# Nothing reached the partner: connecting or waiting for the pool failed, the proxy refused the tunnel, or the
# request could not be made (an address that is not an HTTP URL, a header value that cannot be sent).
_NOT_SENT = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.ClientHttpProxyError,
    aiohttp.InvalidUrlClientError,
    aiohttp.NonHttpUrlClientError,
    ValueError,
)


class NotSent(Exception):
    """Nothing reached the partner: safe to try again."""


class _NoAnswer(Exception):
    """The request was sent, or may have been, and no trustworthy answer came back."""


class PartnerHttp:
    def __init__(
        self, base_url: str, user_agent: str, connect_timeout: float, read_timeout: float, max_connections: int
    ) -> None:
        self.base = base_url.rstrip("/")
        self._headers = {"User-Agent": user_agent}
        self._limit = max_connections
        self._timeout = aiohttp.ClientTimeout(
            total=connect_timeout + 2 * read_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self._download_timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)
        self._proxy = environment_proxy(self.base)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:  # a session opened now would never be closed
            raise NotSent("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=KEEPALIVE_SECONDS),
                timeout=self._timeout,
                headers=self._headers,
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

    async def exchange(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        unsent: type[Exception],
        unknown: type[Exception],
        max_bytes: int = MAX_REPLY_BYTES,
    ) -> tuple[int, bytes]:
        """Send a request (``body`` as JSON) and read the partner's answer: its status (2xx or 4xx) and its body
        (at most ``max_bytes``); ``unsent`` or ``unknown`` (each made with a message) when there is none."""
        try:
            status, reply = await self._exchange(method, path, body, params, headers, max_bytes)
        except NotSent as exc:
            raise unsent(str(exc)) from exc
        except _NoAnswer as exc:
            raise unknown(str(exc)) from exc
        if status >= 500 or 300 <= status < 400:  # not the partner's answer: it may have acted
            raise unknown(f"{path}: HTTP {status}")
        return status, reply

    async def _exchange(
        self,
        method: str,
        path: str,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        max_bytes: int,
    ) -> tuple[int, bytes]:
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            request = self._http().request(
                method,
                f"{self.base}{path}",
                data=body,
                params=params,
                headers=sent,
                proxy=self._proxy,
                allow_redirects=False,
            )
            async with request as response:
                return response.status, await _reply(response, path, max_bytes)
        except _NOT_SENT as exc:
            raise NotSent(f"{path}: {type(exc).__name__}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:  # sent, or possibly sent: timeouts, resets, protocol
            raise _NoAnswer(f"{path}: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def download(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A GET whose body the caller streams (``response.content``), with no deadline as a whole; a transport
        failure, before or during the body, is ``NotSent`` (a GET changes nothing: fetch again)."""
        try:
            request = self._http().get(
                f"{self.base}{path}",
                params=params,
                proxy=self._proxy,
                allow_redirects=False,
                timeout=self._download_timeout,
            )
            async with request as response:
                yield response
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NotSent(f"{path}: {type(exc).__name__}") from exc


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``: ``HTTPS_PROXY`` or ``HTTP_PROXY`` by its scheme (else
    ``ALL_PROXY``), none when ``NO_PROXY`` names its host (by name or domain; not by address range)."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parts.scheme) or proxies.get("all")


async def _reply(response: aiohttp.ClientResponse, path: str, max_bytes: int) -> bytes:
    """The reply's body, refused past ``max_bytes`` (read no further)."""
    if (response.content_length or 0) > max_bytes:
        raise _NoAnswer(f"{path}: a reply of {response.content_length} bytes")
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > max_bytes:
            raise _NoAnswer(f"{path}: a reply of more than {max_bytes} bytes")
    return bytes(body)
