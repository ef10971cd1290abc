"""The HTTP clients that deliver webhooks. Every new connection resolves the URL's host, checks every address
(``addresses.checked``) and connects to a checked address, in one step: no second lookup that DNS rebinding could
answer differently. The URL keeps its host name, so the ``Host`` header, the TLS server name and the certificate
check are the original host's. Redirects are not followed and no proxy from the environment is used.

There are two clients, one for portals allowed private networks and one for the others: a kept-alive connection
is reused only under the policy that checked it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from gateway.settings import Settings

from .addresses import AddressRefused, NetworkPolicy, Resolver, checked, system_resolve

USER_AGENT = "dvc-gateway-webhooks/1"


class Refused(httpcore.ConnectError):
    """The connection was not made: the address is not one webhooks may reach."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: NetworkPolicy, allow_private: bool, resolve: Resolver = system_resolve) -> None:
        self._policy, self._allow_private, self._resolve = policy, allow_private, resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked(host, port, self._policy, self._allow_private, self._resolve)
        except AddressRefused as exc:
            raise Refused(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise Refused("webhooks are never sent over a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request and error mapping) over a connection pool that uses the guarded backend."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits, verify: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def guarded_client(
    settings: Settings, backend: GuardedBackend, verify: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    return httpx.AsyncClient(
        transport=GuardedTransport(backend, limits, verify),
        timeout=httpx.Timeout(settings.webhook_timeout_seconds, connect=settings.webhook_connect_timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


@dataclass
class WebhookHttp:
    """One pooled client per policy and process: keep-alive connections make delivery cheap for portals that
    answer."""

    policy: NetworkPolicy
    public: httpx.AsyncClient
    private: httpx.AsyncClient

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
        return cls(
            policy,
            guarded_client(settings, GuardedBackend(policy, False, resolve), verify),
            guarded_client(settings, GuardedBackend(policy, True, resolve), verify),
        )

    def client(self, allow_private: bool) -> httpx.AsyncClient:
        return self.private if allow_private else self.public

    async def aclose(self) -> None:
        await self.public.aclose()
        await self.private.aclose()
