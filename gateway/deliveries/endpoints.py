"""A portal's webhook endpoint: its URL, its signing secrets (current, and the previous one while it still
signs), its circuit breaker state, and whether an operator allowed it private networks. One endpoint per
portal. What is stored is read and written in ``repository``; here, what the secrets mean."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.portals import allows_private_webhooks

from . import repository
from .repository import Endpoint
from .secret_box import SecretBox, SecretUnavailable, new_secret

log = logging.getLogger("gateway.deliveries")


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


async def target(conn: AsyncConnection, box: SecretBox, portal_id: str, now: datetime) -> Target | None:
    found = await repository.endpoint(conn, portal_id)
    if found is None or not found.enabled:
        return None
    allow_private = await allows_private_webhooks(conn, portal_id)
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


async def put(
    tx: AsyncConnection, box: SecretBox, portal_id: str, url: str, enabled: bool, now: datetime
) -> tuple[Endpoint, str | None]:
    """Create or change the endpoint; a new endpoint gets a secret, returned once. A changed URL closes the
    circuit, since the failures were the old address's."""
    current = await repository.endpoint(tx, portal_id, lock=True)
    if current is None:
        secret: str | None = new_secret()
        await repository.insert_endpoint(tx, portal_id, url, enabled, box.seal(secret, portal_id), now)
    else:
        secret = None
        close = url != current.url or (enabled and not current.enabled)
        await repository.change_endpoint(tx, portal_id, url, enabled, now, close_circuit=close)
    fresh = await repository.endpoint(tx, portal_id)
    assert fresh is not None
    return fresh, secret


async def rotate(
    tx: AsyncConnection, box: SecretBox, portal_id: str, overlap: timedelta, now: datetime
) -> tuple[Endpoint, str] | None:
    """A new secret signs from now on; the current one keeps signing too until ``now + overlap``."""
    current = await repository.endpoint(tx, portal_id, lock=True)
    if current is None:
        return None
    secret = new_secret()
    keep = overlap.total_seconds() > 0
    await repository.set_secrets(
        tx,
        portal_id,
        box.seal(secret, portal_id),
        current.secret if keep else None,
        now + overlap if keep else None,
        now,
    )
    fresh = await repository.endpoint(tx, portal_id)
    assert fresh is not None
    return fresh, secret
