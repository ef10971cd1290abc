"""A fixed-window request limit per client address, counted in Redis so every gateway process shares it.

The address is the connection's peer as the ASGI server reports it (the gateway is served with
``proxy_headers=False``): ``X-Forwarded-For`` is never read, so a client cannot buy itself a fresh budget by
sending one. Behind a load balancer, have it terminate connections per client or set the real address itself.
When Redis does not answer the request is let through and a warning logged: lookup stays available, and Redis
holds nothing that cannot be rebuilt.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("gateway.receipts")


class RateLimiter:
    def __init__(self, prefix: str, limit: int, window_seconds: int) -> None:
        self.prefix = prefix
        self.limit = limit
        self.window = max(1, window_seconds)

    async def retry_after(self, redis: Redis | None, client: str) -> int:
        """0 when ``client`` may go on; otherwise the seconds until its window ends."""
        if redis is None or self.limit <= 0:
            return 0
        now = time.time()
        window = int(now // self.window)
        key = f"{self.prefix}:{client}:{window}"
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            log.warning("rate limit not checked: redis unavailable", extra={"error": str(error)})
            return 0
        if int(count) <= self.limit:
            return 0
        return max(1, int((window + 1) * self.window - now))
