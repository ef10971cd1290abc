"""One delivery attempt over HTTP: signed, bounded in time and in response size, and judged. Nothing here
touches the database, and nothing here raises: whatever goes wrong is a failed attempt.

The portal is told only what its endpoint did, in a few fixed words (``error``): an HTTP status, could not
connect, no answer in time, no valid answer, an answer over the size limit. Never the raw error, which would
make the test endpoint a port scanner of the gateway's network; the detail goes to the server's log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from gateway import metrics

from . import signing
from .transport import GuardedClient

log = logging.getLogger("gateway.deliveries")

MAX_ERROR = 255
COULD_NOT_CONNECT = "could not connect"
NO_VALID_ANSWER = "no valid HTTP answer"
NOT_SIGNED = "not sent: the gateway could not sign the event"
NOT_PREPARED = "not sent: the gateway could not prepare the event"


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str  # what the portal reads
    detail: str = ""  # what the operator reads in the log, never shown to the portal
    kind: str = "delivered"  # for the metric: delivered, http_status, could_not_connect, no_answer, ...

    @property
    def outcome(self) -> str:
        return "delivered" if self.ok else "failed"


def not_signed(detail: str) -> AttemptResult:
    return AttemptResult(False, None, 0, NOT_SIGNED, detail, "not_signed")


def not_prepared(detail: str) -> AttemptResult:
    return AttemptResult(False, None, 0, NOT_PREPARED, detail, "not_prepared")


def record(result: AttemptResult, portal_id: str, event_id: str) -> None:
    """Count the attempt, and log a failure with its detail for the operator."""
    metrics.WEBHOOK_ATTEMPTS.labels(outcome=result.kind).inc()
    if not result.ok:
        log.info(
            "webhook delivery failed",
            extra={"portal_id": portal_id, "event_id": event_id, "error": result.error, "detail": result.detail},
        )


# Nothing reached the portal: the connection (its address refused, its name unresolved, TLS failed) or the
# request itself (a URL the client cannot send to) could not be made.
_NOT_CONNECTED = (
    aiohttp.ClientConnectorError,
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
    ValueError,
    UnicodeError,
)


async def send(
    http: GuardedClient,
    url: str,
    secrets: Sequence[str],
    event_id: str,
    body: bytes,
    *,
    timeout: float,  # noqa: ASYNC109 - the whole exchange's bound, applied with asyncio.timeout below
    max_response_bytes: int,
) -> AttemptResult:
    """POST one event; a 2xx status read within the limits is a delivery, anything else a failed attempt."""
    started = time.perf_counter()
    status: int | None = None

    def done(error: str = "", detail: str = "", kind: str = "delivered") -> AttemptResult:
        latency = round((time.perf_counter() - started) * 1000)
        return AttemptResult(not error, status, latency, error[:MAX_ERROR], detail[:1000], kind)

    try:
        headers = {
            "Content-Type": "application/json",
            signing.EVENT_ID_HEADER: event_id,
            signing.HEADER: signing.header(secrets, int(time.time()), body),
        }
        async with asyncio.timeout(timeout):
            request = http.session().post(url, data=body, headers=headers, allow_redirects=False)
            async with request as response:
                status = response.status
                declared = response.headers.get("Content-Length", "")
                too_large = f"answer over the {max_response_bytes} byte limit"
                if declared.isascii() and declared.isdigit() and int(declared) > max_response_bytes:
                    return done(too_large, f"content-length {declared}", "too_large")
                size = 0
                async for chunk in response.content.iter_any():
                    size += len(chunk)
                    if size > max_response_bytes:
                        return done(too_large, "", "too_large")
    except aiohttp.ConnectionTimeoutError as exc:
        return done(COULD_NOT_CONNECT, _describe(exc), "could_not_connect")
    except TimeoutError as exc:  # the whole exchange's bound, or a read that waited too long
        return done(f"no answer within {timeout:g} s", _describe(exc), "no_answer")
    except _NOT_CONNECTED as exc:
        if status is not None:  # the answer began: what broke was reading it
            return done(f"{NO_VALID_ANSWER} (HTTP {status})", _describe(exc), "no_valid_answer")
        return done(COULD_NOT_CONNECT, _describe(exc), "could_not_connect")
    except aiohttp.ClientError as exc:  # the connection was made: no answer, or one that is not HTTP
        error = NO_VALID_ANSWER if status is None else f"{NO_VALID_ANSWER} (HTTP {status})"
        return done(error, _describe(exc), "no_valid_answer")
    except Exception as exc:  # any other failure is a failed attempt, never a crashed job
        log.warning("webhook send failed unexpectedly", exc_info=True, extra={"event_id": event_id})
        return done(COULD_NOT_CONNECT, _describe(exc), "could_not_connect")
    if not 200 <= status < 300:
        return done(f"HTTP {status}", "", "http_status")
    return done()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
