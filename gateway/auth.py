"""Bearer API keys on every ``/v1`` route. A short in-process cache keeps the key check off the hot path."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from gateway.errors import Problem
from gateway.portals.service import PortalContext, authenticate
from gateway.store.db import Database

_CACHE_LIMIT = 10_000


class KeyCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[PortalContext, float]] = {}

    def get(self, digest: str) -> PortalContext | None:
        hit = self._entries.get(digest)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, digest: str, portal: PortalContext) -> None:
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries.clear()
        self._entries[digest] = (portal, time.monotonic() + self.ttl)


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        db: Database = connection.app.state.services.db
        cache: KeyCache = connection.app.state.services.key_cache
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("send Authorization: Bearer <api key>")
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        portal = cache.get(digest) if cache.ttl > 0 else None
        if portal is None:
            portal = await authenticate(db, token.strip())
            if portal is None:
                raise _unauthorized("the API key is not valid")
            cache.put(digest, portal)
        return AuthenticationResult(user=portal, auth=portal.key_id)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="gateway"'})
