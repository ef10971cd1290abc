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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger("gateway.ratelimit")

# A limiter must never hold a request up for long: past this, it lets the request through.
TIMEOUT_SECONDS = 0.5

# Where a request counted ahead of its check (``Counted``) waits in the ASGI scope's state.
COUNTED = "gateway.rate_counted"


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


@dataclass(frozen=True, slots=True)
class Counted:
    """A request counted against ``client``'s budget ahead of its check (in the same Redis round trip as the API
    key's revocation counter): its window and the count Redis gave, None when Redis did not answer."""

    client: str
    window: int
    now: float
    count: int | None


class RateLimiter:
    def __init__(self, prefix: str, limit: int, window_seconds: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.window = max(1, window_seconds)

    def applies(self, redis: Redis | None, limit: int | None) -> bool:
        """Whether requests are counted at all (``limit`` overrides the limiter's own; 0 or less: no limit)."""
        return redis is not None and (self.limit if limit is None else limit) > 0

    async def retry_after(
        self, redis: Redis | None, client: str, limit: int | None = None, counted: Counted | None = None
    ) -> int:
        """0 when ``client`` may go on; otherwise the seconds until its window ends. ``limit`` overrides the
        limiter's own (0 or less: no limit). ``counted``: this request, already counted for ``client``."""
        if not self.applies(redis, limit):
            return 0
        assert redis is not None
        if counted is None or counted.client != client:
            counted = await self.count(redis, client)
        if counted.count is None or counted.count <= (self.limit if limit is None else limit):
            return 0
        return max(1, int((counted.window + 1) * self.window - counted.now))

    async def count(self, redis: Redis, client: str) -> Counted:
        """Count a request against ``client``'s budget (fails open: see ``unanswered``)."""
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):  # bounds the call in its own task, unlike wait_for
                async with redis.pipeline(transaction=True) as pipe:
                    counting = self.count_in(pipe, client)
                    return counting(await pipe.execute())
        except (RedisError, OSError, TimeoutError) as error:
            return self.unanswered(client, error)

    def count_in(self, pipe: Pipeline, client: str) -> Callable[[list[Any]], Counted]:
        """Queue the count of a request on ``pipe`` (after what is queued already); what reads it from the
        pipeline's answers."""
        now = time.time()
        window = int(now // self.window)
        key = f"{self.prefix}:{client}:{window}"
        first = len(pipe)
        pipe.incr(key)
        pipe.expire(key, self.window + 1)
        return lambda answers: Counted(client, window, now, int(answers[first]))

    def unanswered(self, client: str, error: BaseException) -> Counted:
        """Redis did not answer: the request goes through, and the log says so."""
        log.warning("rate limit not checked: redis unavailable", extra={"limiter": self.prefix, "error": str(error)})
        return Counted(client, 0, 0.0, None)
