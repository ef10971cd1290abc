"""Bearer API keys on every ``/v1`` route. A short in-process cache keeps the key check off the hot path; the
revocation counter in Redis makes a revoked key fail everywhere at once. Both the check and the counter are the
portals area's, handed to this middleware by the container. A request with a cached key reads the counter and is
counted against the key's rate budget in one Redis round trip; the edge checks the budget with that count."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from adapters.vntime import now_utc
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext

from .ratelimit import COUNTED

_CACHE_LIMIT = 10_000


class KeyCache:
    """Checked keys by the digest of their token, with the revocation counter seen when they were checked."""

    def __init__(self, ttl: float, fallback_ttl: float = 2.0) -> None:
        self.ttl = ttl
        self.fallback_ttl = min(ttl, fallback_ttl)
        self._entries: dict[str, tuple[PortalContext, float, int | None]] = {}

    def get(self, digest: str, counter: int | None) -> PortalContext | None:
        """A cached key, if still to be trusted: within ``ttl`` while the counter has not moved, and only within
        ``fallback_ttl`` when the counter cannot be read; never past the key's own expiry."""
        hit = self._entries.get(digest)
        if hit is None:
            return None
        portal, stored_at, seen = hit
        if counter is None:
            trusted_for = self.fallback_ttl
        elif counter == seen:
            trusted_for = self.ttl
        else:
            return None
        if time.monotonic() - stored_at > trusted_for:
            return None
        if portal.key_expires_at is not None and portal.key_expires_at <= now_utc():
            return None
        return portal

    def peek(self, digest: str) -> PortalContext | None:
        """The cached key, before ``get`` says whether it is still to be trusted."""
        hit = self._entries.get(digest)
        return None if hit is None else hit[0]

    def put(self, digest: str, portal: PortalContext, counter: int | None) -> None:
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries.clear()
        self._entries[digest] = (portal, time.monotonic(), counter)


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        container = connection.app.state.container
        cache = container.key_cache
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("send Authorization: Bearer <api key>")
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        portal, counter = None, None
        if cache.ttl > 0:
            known = cache.peek(digest)
            if known is None:
                counter = await container.revocation_count()
            else:  # the counter read and the request counted against the key's budget in one round trip
                counter, counted = await container.admit(known.key_id, known.rate_limit)
                if counted is not None:
                    connection.scope["state"][COUNTED] = counted
            portal = cache.get(digest, counter)
        if portal is None:
            portal = await container.authenticate(token)
            if portal is None:
                raise _unauthorized("the API key is not valid")
            if cache.ttl > 0:
                cache.put(digest, portal, counter)
        return AuthenticationResult(user=portal, auth=portal.key_id)


def _unauthorized(detail: str) -> Refused:
    return Refused("unauthorized", detail)
