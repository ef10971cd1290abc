"""The metrics counted from the database: refreshed each time ``/metrics`` is read, bounded in time, never failing
the scrape (a database that does not answer leaves the last values, and says so in the log)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request

from gateway import metrics
from gateway.kernel.collected import SOURCE_TYPES
from gateway.receipts import unissued_counts
from gateway.shipments import count_open_exceptions

log = logging.getLogger("gateway.metrics")

REFRESH_TIMEOUT = 2.0


async def refresh(request: Request[Any, Any, Any]) -> None:
    """Set the gauges from the database (a ``before_request`` hook of the metrics route)."""
    try:
        async with asyncio.timeout(REFRESH_TIMEOUT), request.app.state.container.db.read() as conn:
            held = await unissued_counts(conn)
            open_exceptions = await count_open_exceptions(conn)
    except Exception as exc:  # the scrape still answers, with the last values
        log.warning("metrics not refreshed from the database", extra={"error": type(exc).__name__})
        return
    for source_type in sorted(set(SOURCE_TYPES) | set(held)):
        metrics.RECEIPTS_UNISSUED.labels(source_type=source_type).set(held.get(source_type, 0))
    metrics.COD_EXCEPTIONS_OPEN.set(open_exceptions)
