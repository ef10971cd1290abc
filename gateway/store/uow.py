"""The unit of work: one transaction, with what every area writes in it besides its own tables: the outbox's events
and the binding of a new resource to the idempotent attempt that made it. Areas' repositories work on ``conn``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.attempts import Attempt
from gateway.store.tables import idempotency as it

from . import outbox
from .direct import Direct

_K = it.idempotency_keys.c
_BIND = Direct(it.idempotency_keys.update().where(_K.portal_id == bindparam("b_owner"), _K.key == bindparam("b_key")))


class UnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def bind(self, attempt: Attempt | None, resource_id: str) -> None:
        """Tie what ``attempt`` made to its Idempotency-Key, so a retry resumes it (nothing without an attempt)."""
        if attempt is None:
            return
        await _BIND.change(self.conn, {"resource_id": resource_id, "b_owner": attempt.owner, "b_key": attempt.key})

    async def event(
        self,
        *,
        portal_id: str,
        dossier_code: str,
        type: str,
        resource_type: str,
        resource_id: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> str:
        """Announce a change in the outbox, in the change's own transaction."""
        return await outbox.record(
            self.conn,
            portal_id=portal_id,
            dossier_code=dossier_code,
            type=type,
            resource_type=resource_type,
            resource_id=resource_id,
            payload=payload,
            now=now,
        )

    async def events(self, events: list[dict[str, Any]], now: datetime) -> list[str]:
        return await outbox.record_many(self.conn, events, now)
