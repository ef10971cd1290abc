"""Revocations announced through Redis, so that cached API keys stay safe.

Each gateway process caches the keys it has checked. Every revocation or rotation adds one to a counter in Redis;
a process reads the counter on each request (one ``GET``) and drops its cached keys when it moved, so a key
revoked anywhere is refused by every process on its next request. When the counter cannot be read, a process
trusts a cached key only for ``AUTH_CACHE_FALLBACK_SECONDS``; when the command could not announce a revocation,
other processes may accept the key for at most ``AUTH_CACHE_SECONDS`` (the command says so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger("gateway.auth")

# Redis answers in well under a millisecond; waiting longer than this on every request would hurt more than help.
TIMEOUT_SECONDS = 0.5
_state = {"down": False}


def counter_key(namespace: str) -> str:
    return f"{namespace}:auth-revocations"


async def current(redis: Redis | None, namespace: str) -> int | None:
    """The revocation counter, or ``None`` when Redis does not answer (logged once per outage)."""
    if redis is None:
        return None
    try:
        value = await asyncio.wait_for(redis.get(counter_key(namespace)), TIMEOUT_SECONDS)
    except (RedisError, OSError, TimeoutError) as error:
        return unreadable(error)
    return readable(value)


def read_in(pipe: Pipeline, namespace: str) -> Callable[[list[Any]], int]:
    """Queue the counter's read on ``pipe`` (after what is queued already), for a caller that sends other commands
    in the same round trip (within ``TIMEOUT_SECONDS``); what reads it from the pipeline's answers."""
    at = len(pipe)
    pipe.get(counter_key(namespace))
    return lambda answers: readable(answers[at])


def readable(value: Any) -> int:
    if _state["down"]:
        log.info("revocations readable again")
    _state["down"] = False
    return int(value or 0)


def unreadable(error: BaseException) -> None:
    if not _state["down"]:
        log.warning(
            "revocations not readable: redis unavailable; cached keys trusted briefly", extra={"error": str(error)}
        )
    _state["down"] = True
    return None


async def announce(redis: Redis, namespace: str) -> bool:
    """Tell every process that a key was revoked or rotated; False when Redis does not answer."""
    try:
        await asyncio.wait_for(redis.incr(counter_key(namespace)), TIMEOUT_SECONDS * 4)
    except (RedisError, OSError, TimeoutError) as error:
        log.warning("revocation not announced: redis unavailable", extra={"error": str(error)})
        return False
    return True
