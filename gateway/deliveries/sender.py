"""One delivery attempt over HTTP: signed, bounded in time and in response size, and judged. Nothing here
touches the database. A portal's answer counts only as a 2xx status read within the limits; redirects are not
followed (a moved endpoint is configured again, not chased)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from gateway.settings import Settings

from . import signing

USER_AGENT = "dvc-gateway-webhooks/1"
MAX_ERROR = 255


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str


def client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client per worker: keep-alive connections make delivery cheap for portals that answer."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.webhook_timeout_seconds, connect=settings.webhook_connect_timeout),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"User-Agent": USER_AGENT},
    )


async def send(
    http: httpx.AsyncClient,
    url: str,
    secrets: Sequence[str],
    event_id: str,
    body: bytes,
    *,
    timeout: float,  # noqa: ASYNC109 - the whole exchange's bound, applied with asyncio.timeout below
    max_response_bytes: int,
) -> AttemptResult:
    """POST one event; a timeout, a connection error, an invalid HTTP answer, a body over the limit or a non-2xx
    status is a failure, described in ``error`` for the portal's delivery log."""
    headers = {
        "Content-Type": "application/json",
        signing.EVENT_ID_HEADER: event_id,
        signing.HEADER: signing.header(secrets, int(time.time()), body),
    }
    started = time.perf_counter()
    status: int | None = None

    def done(ok: bool, error: str = "") -> AttemptResult:
        latency = round((time.perf_counter() - started) * 1000)
        return AttemptResult(ok, status, latency, error[:MAX_ERROR])

    try:
        async with asyncio.timeout(timeout):
            async with http.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_response_bytes:
                    return done(False, f"response body of {declared} bytes is over the {max_response_bytes} limit")
                size = 0
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > max_response_bytes:
                        return done(False, f"response body over the {max_response_bytes} byte limit")
    except TimeoutError:
        return done(False, f"no complete answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return done(False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if not 200 <= status < 300:
        return done(False, f"HTTP {status}")
    return done(True)
