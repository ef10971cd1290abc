"""The HTTP clients that deliver webhooks. Every new connection resolves the URL's host, checks every address
(``addresses.checked``) and connects to a checked address, in one step: no second lookup that DNS rebinding could
answer differently. The socket itself is made only for an address the policy allows (``guarded_socket``), so a
URL whose host is an address, which needs no lookup, is checked too. The URL keeps its host name, so the ``Host``
header, the TLS server name and the certificate check are the original host's. Redirects are not followed and no
proxy from the environment is used.

The clients run on aiohttp, as the partners' clients do (``adapters.partner_http``): a webhook cost the worker about
a millisecond of CPU through httpx, whose pool goes through anyio's locks and cancel scopes and polls every idle
connection at each request.

There are two clients, one for portals allowed private networks and one for the others: a kept-alive connection
is reused only under the policy that checked it. Each is opened on first use, in the event loop that uses it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from adapters.partner_http import KEEPALIVE_SECONDS
from gateway.settings import Settings

from .addresses import AddressRefused, NetworkPolicy, Resolver, checked, system_resolve

USER_AGENT = "dvc-gateway-webhooks/1"
MAX_CONNECTIONS = 200
MAX_HEADERS, MAX_HEADER_BYTES = 64, 8190  # an answer's head: at most this many fields of at most this many bytes


class GuardedResolver(AbstractResolver):
    """A host name's addresses, every one checked against the policy; any refused refuses them all."""

    def __init__(self, policy: NetworkPolicy, allow_private: bool, resolve: Resolver = system_resolve) -> None:
        self._policy, self._allow_private, self._resolve = policy, allow_private, resolve

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> list[ResolveResult]:
        try:
            addresses = await checked(host, port, self._policy, self._allow_private, self._resolve)
        except AddressRefused as exc:
            raise OSError(errno.EACCES, str(exc)) from exc
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def guarded_socket(policy: NetworkPolicy, allow_private: bool) -> Any:
    """The connector's socket factory: a socket for an address the policy allows, an OSError for any other."""

    def make(address_info: tuple[Any, ...]) -> socket.socket:
        family, kind, proto, _, address = address_info
        target = ipaddress.ip_address(str(address[0]).partition("%")[0])
        reason = policy.refusal(target, int(address[1]), allow_private)
        if reason is not None:
            raise OSError(errno.EACCES, f"{target}: {reason.value}")
        return socket.socket(family, kind, proto)

    return make


@dataclass
class GuardedClient:
    """One pooled aiohttp session under one policy (private networks allowed or not), opened on first use."""

    policy: NetworkPolicy
    allow_private: bool
    timeout: aiohttp.ClientTimeout
    resolve: Resolver = system_resolve
    verify: ssl.SSLContext | None = None
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)

    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise aiohttp.ClientConnectionError("the webhook client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy, self.allow_private, self.resolve),
                socket_factory=guarded_socket(self.policy, self.allow_private),
                use_dns_cache=False,  # resolved and checked at every new connection
                ssl=self.verify if self.verify is not None else True,
                limit=MAX_CONNECTIONS,
                keepalive_timeout=KEEPALIVE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
                auto_decompress=False,  # the answer's body is counted, never decoded
                cookie_jar=aiohttp.DummyCookieJar(),  # one portal's cookies are never sent to another
                max_line_size=MAX_HEADER_BYTES,  # the answer's head is bounded as its body is
                max_field_size=MAX_HEADER_BYTES,
                max_headers=MAX_HEADERS,
            )
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()


@dataclass
class WebhookHttp:
    """One pooled client per policy and process: keep-alive connections make delivery cheap for portals that
    answer."""

    policy: NetworkPolicy
    public: GuardedClient
    private: GuardedClient

    @classmethod
    def build(
        cls,
        settings: Settings,
        resolve: Resolver = system_resolve,
        verify: ssl.SSLContext | None = None,
        policy: NetworkPolicy | None = None,
    ) -> WebhookHttp:
        """``resolve``, ``verify`` (the trusted certificates) and ``policy`` default to the system's and the
        settings'; tests give their own."""
        policy = policy or NetworkPolicy.from_settings(settings)
        timeout = aiohttp.ClientTimeout(
            total=None, connect=settings.webhook_connect_timeout, sock_read=settings.webhook_timeout_seconds
        )
        return cls(
            policy,
            GuardedClient(policy, False, timeout, resolve, verify),
            GuardedClient(policy, True, timeout, resolve, verify),
        )

    def client(self, allow_private: bool) -> GuardedClient:
        return self.private if allow_private else self.public

    async def aclose(self) -> None:
        await self.public.aclose()
        await self.private.aclose()
