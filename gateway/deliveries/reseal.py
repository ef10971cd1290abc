"""Moving every stored webhook secret to the current key (``gateway webhook-secrets reencrypt``): the step of a
key rotation after the new key is listed first, and before the old one is removed. Safe to run again and while
the gateway runs: each endpoint is resealed in its own transaction, and only if it still holds the values that were
read (a secret rotated meanwhile is already under the current key)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select, update

from gateway.store.db import Database
from gateway.store.tables import deliveries as dt

from .secret_box import SecretBox, SecretUnavailable

log = logging.getLogger("gateway.deliveries")

E = dt.webhook_endpoints.c


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
        rows = (await conn.execute(select(E.portal_id, E.secret, E.previous_secret))).all()
    for portal_id, secret, previous in rows:
        values: dict[str, str | None] = {}
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
        if not values:
            continue
        async with db.transaction() as tx:
            result = await tx.execute(
                update(dt.webhook_endpoints)
                .where(E.portal_id == portal_id, E.secret == secret, _same(E.previous_secret, previous))
                .values(**values)
            )
        if result.rowcount:
            report.resealed += len(values)
    return report


def _same(column: object, value: str | None) -> object:
    return column.is_(None) if value is None else column == value  # type: ignore[attr-defined]
