"""Reading the agencies a portal acts for and their fee catalogues, with the problems a portal gets when a code is
not there: one place for the rule, used by payments and shipments alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import Problem
from gateway.store import tables as t

from .service import PortalContext


async def agency_of(conn: AsyncConnection, portal: PortalContext, code: str) -> Any:
    """The agency with this code, if the portal acts for it; another portal's agency is as unknown as none."""
    agency = (await conn.execute(select(t.agencies).where(t.agencies.c.code == code))).first()
    if agency is None or agency.id not in portal.agency_ids:
        raise Problem(422, "unknown_agency", f"no agency {code!r} for this portal", field="agency_code")
    return agency


async def procedure_of(conn: AsyncConnection, agency_id: str, code: str) -> Any:
    procedure = (
        await conn.execute(
            select(t.procedures).where(t.procedures.c.agency_id == agency_id, t.procedures.c.code == code)
        )
    ).first()
    if procedure is None:
        raise Problem(422, "unknown_procedure", f"procedure {code!r} is not in the catalogue", field="procedure_code")
    return procedure
