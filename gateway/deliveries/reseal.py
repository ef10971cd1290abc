"""Resealing every stored webhook secret under the current key (``gateway webhook-secrets reencrypt``): the step of a
key rotation after the new key is listed first, and before the old one is removed. Safe to run again and while
the gateway runs: each endpoint is resealed in its own transaction, and only if it still holds the values that were
read (a secret rotated meanwhile is already under the current key)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gateway.store.db import Database

from . import repository
from .secret_box import SecretBox, SecretUnavailable

log = logging.getLogger("gateway.deliveries")


@dataclass
class ResealReport:
    resealed: int = 0  # secrets moved to the current key
    current: int = 0  # secrets already under it
    unreadable: list[str] = field(default_factory=list)  # portals whose secret no configured key opens

    def as_dict(self) -> dict[str, object]:
        return {"resealed": self.resealed, "current": self.current, "unreadable": self.unreadable}


async def reseal(db: Database, box: SecretBox) -> ResealReport:
    report = ResealReport()
    async with db.read() as conn:
        stored = await repository.sealed_secrets(conn)
    for portal_id, secret, previous in stored:
        values = _resealed(box, report, portal_id, secret, previous)
        if not values:
            continue
        async with db.transaction() as tx:
            if await repository.reseal(tx, portal_id, secret, previous, values):
                report.resealed += len(values)
    return report


def _resealed(
    box: SecretBox, report: ResealReport, portal_id: str, secret: str, previous: str | None
) -> dict[str, str]:
    """The endpoint's secrets that are not under the current key, sealed under it (counted in ``report``)."""
    values: dict[str, str] = {}
    for column, stored in (("secret", secret), ("previous_secret", previous)):
        if stored is None:
            continue
        if box.is_current(stored):
            report.current += 1
            continue
        try:
            values[column] = box.seal(box.open(stored, portal_id), portal_id)
        except SecretUnavailable as exc:
            log.error("webhook secret cannot be resealed", extra={"portal_id": portal_id, "detail": str(exc)})
            if portal_id not in report.unreadable:
                report.unreadable.append(portal_id)
    return values
