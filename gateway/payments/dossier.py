"""A dossier's payments as the dossier view shows them (``GET /v1/dossiers/{code}``): the API's representation,
oldest first."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from . import presenter, repository
from .schemas import PaymentOut


async def for_dossier(conn: AsyncConnection, portal_id: str, dossier_code: str) -> list[PaymentOut]:
    return [presenter.view(p) for p in await repository.of_dossier(conn, portal_id, dossier_code)]
