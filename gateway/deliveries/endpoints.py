"""A portal's webhook endpoint: its URL, its signing secrets (current, and the previous one while it still
signs), its circuit breaker state, and whether an operator allowed it private networks. One endpoint per
portal."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import dialect
from gateway.store.db import Database
from gateway.store.tables import deliveries as dt
from gateway.store.tables import portals as ct

from .policy import Breaker
from .schemas import Circuit, WebhookOut
from .secret_box import SecretBox, SecretUnavailable, new_secret

log = logging.getLogger("gateway.deliveries")

E = dt.webhook_endpoints.c
P = ct.portals.c


@dataclass(frozen=True)
class Target:
    """Where and how to send one portal's events. No secret (``unsigned`` says why, for the log) means no event
    can be signed: each attempt is a recorded failure, not a crash."""

    portal_id: str
    url: str
    secrets: tuple[str, ...]  # every secret that signs now, newest first
    consecutive_failures: int
    allow_private: bool = False
    unsigned: str = ""


async def row(conn: AsyncConnection, portal_id: str, *, lock: bool = False) -> Row[Any] | None:
    query = select(dt.webhook_endpoints).where(E.portal_id == portal_id)
    if lock:
        query = dialect.locked(conn, query)
    return (await conn.execute(query)).first()


async def target(conn: AsyncConnection, box: SecretBox, portal_id: str, now: datetime) -> Target | None:
    found = await row(conn, portal_id)
    if found is None or not found.enabled:
        return None
    allow_private = await allows_private(conn, portal_id)
    try:
        secrets = [box.open(found.secret, portal_id)]
    except SecretUnavailable as exc:
        log.error("webhook secret cannot be opened", extra={"portal_id": portal_id, "detail": str(exc)})
        return Target(portal_id, found.url, (), found.consecutive_failures, allow_private, str(exc))
    if found.previous_secret and found.previous_expires_at and found.previous_expires_at > now:
        try:
            secrets.append(box.open(found.previous_secret, portal_id))
        except SecretUnavailable as exc:  # the current secret still signs: deliver, and tell the operator
            log.warning("previous webhook secret cannot be opened", extra={"portal_id": portal_id, "detail": str(exc)})
    return Target(portal_id, found.url, tuple(secrets), found.consecutive_failures, allow_private)


async def allows_private(conn: AsyncConnection, portal_id: str) -> bool:
    query = select(P.allow_private_webhooks).where(P.id == portal_id)
    return bool((await conn.execute(query)).scalar())


async def set_private(db: Database, portal_id: str, allowed: bool) -> bool:
    """An operator's decision (``gateway portal allow-private-webhooks``); False if there is no such portal."""
    async with db.transaction() as tx:
        result = await tx.execute(update(ct.portals).where(P.id == portal_id).values(allow_private_webhooks=allowed))
    return bool(result.rowcount)


async def put(
    tx: AsyncConnection, box: SecretBox, portal_id: str, url: str, enabled: bool, now: datetime
) -> tuple[Row[Any], str | None]:
    """Create or change the endpoint; a new endpoint gets a secret, returned once. A changed URL closes the
    circuit, since the failures were the old address's."""
    current = await row(tx, portal_id, lock=True)
    if current is None:
        secret = new_secret()
        await tx.execute(
            dt.webhook_endpoints.insert().values(
                portal_id=portal_id,
                url=url,
                enabled=enabled,
                secret=box.seal(secret, portal_id),
                created_at=now,
                updated_at=now,
            )
        )
    else:
        secret = None
        values: dict[str, Any] = {"url": url, "enabled": enabled, "updated_at": now}
        if url != current.url or (enabled and not current.enabled):
            values.update(consecutive_failures=0, circuit_open_until=None)
        await tx.execute(dt.webhook_endpoints.update().where(E.portal_id == portal_id).values(**values))
    fresh = await row(tx, portal_id)
    assert fresh is not None
    return fresh, secret


async def rotate(
    tx: AsyncConnection, box: SecretBox, portal_id: str, overlap: timedelta, now: datetime
) -> tuple[Row[Any], str] | None:
    """A new secret signs from now on; the current one keeps signing too until ``now + overlap``."""
    current = await row(tx, portal_id, lock=True)
    if current is None:
        return None
    secret = new_secret()
    await tx.execute(
        dt.webhook_endpoints.update()
        .where(E.portal_id == portal_id)
        .values(
            secret=box.seal(secret, portal_id),
            previous_secret=current.secret if overlap.total_seconds() > 0 else None,
            previous_expires_at=now + overlap if overlap.total_seconds() > 0 else None,
            updated_at=now,
        )
    )
    fresh = await row(tx, portal_id)
    assert fresh is not None
    return fresh, secret


def view(found: Row[Any], breaker: Breaker, now: datetime, secret: str | None = None) -> WebhookOut:
    open_until = found.circuit_open_until
    if open_until is not None and open_until > now:
        state = "open"
    elif breaker.half_open(found.consecutive_failures):
        state = "half_open"
    else:
        state = "closed"
    expires = found.previous_expires_at if found.previous_secret and found.previous_expires_at else None
    return WebhookOut(
        url=found.url,
        enabled=found.enabled,
        circuit=Circuit(state=state, consecutive_failures=found.consecutive_failures, open_until=open_until),  # type: ignore[arg-type]
        previous_secret_expires_at=expires if expires is not None and expires > now else None,
        created_at=found.created_at,
        updated_at=found.updated_at,
        secret=secret,
    )
