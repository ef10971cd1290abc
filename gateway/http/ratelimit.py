"""One fixed-window request limiter, counted in Redis so every gateway process shares each budget: per client
address on the public lookup pages and on the finance staff's sign-in, per API key on the portal API.

A budget is ``limit`` requests per window of ``window_seconds``; the window is aligned on the clock, so a client
may send up to twice its limit across a window's end. The pages count the connection's peer as the ASGI
server reports it (the gateway is served with ``proxy_headers=False``): ``X-Forwarded-For`` is never read, so a
client cannot buy itself a fresh budget by sending one. When Redis does not answer the request is let through and
a warning logged: the service stays available, and Redis holds nothing that cannot be rebuilt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("gateway.ratelimit")

# A limiter must never hold a request up for long: past this, it lets the request through.
TIMEOUT_SECONDS = 0.5


def address_key(host: str | None) -> str:
    """The budget a client address counts against: an IPv4 address (also when written as IPv4-mapped IPv6) is its
    own; an IPv6 address counts with its /64, the block one subscriber is given, so a client cannot buy fresh
    budgets by walking its own block. What is no IP address (a Unix socket's peer) counts under its own text."""
    if not host:
        return "no-address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"peer:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    def __init__(self, prefix: str, limit: int, window_seconds: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.window = max(1, window_seconds)

    async def retry_after(self, redis: Redis | None, client: str, limit: int | None = None) -> int:
        """0 when ``client`` may go on; otherwise the seconds until its window ends. ``limit`` overrides the
        limiter's own (0 or less: no limit)."""
        limit = self.limit if limit is None else limit
        if redis is None or limit <= 0:
            return 0
        now = time.time()
        window = int(now // self.window)
        key = f"{self.prefix}:{client}:{window}"
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):  # bounds the call in its own task, unlike wait_for
                count = await self._count(redis, key)
        except (RedisError, OSError, TimeoutError) as error:
            log.warning(
                "rate limit not checked: redis unavailable", extra={"limiter": self.prefix, "error": str(error)}
            )
            return 0
        if count <= limit:
            return 0
        return max(1, int((window + 1) * self.window - now))

    async def _count(self, redis: Redis, key: str) -> int:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window + 1)
            count, _ = await pipe.execute()
        return int(count)
