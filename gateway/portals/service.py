"""Portals, their API keys and agencies, and each agency's fee catalogue: creating them, and checking a portal's
API key."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.ids import new_id
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database

from . import keys, repository
from .specs import AgencySpec, Fee, Procedure, agency_values, check_agency, procedure_values

__all__ = [
    "AgencySpec",
    "Fee",
    "PortalContext",
    "Procedure",
    "authenticate",
    "check_agency",
    "create_portal",
    "grant_agency",
    "insert_key",
    "issue_key",
    "portal_named",
    "set_private_webhooks",
    "upsert_agency",
]


async def create_portal(
    db: Database, name: str, agency_codes: list[str] | tuple[str, ...] = (), label: str = "default"
) -> tuple[str, str]:
    """Create a portal with one API key; returns ``(portal id, api key)``: the key is shown only now."""
    portal_id = new_id("ptl")
    async with db.transaction() as tx:
        await repository.insert_portal(tx, portal_id, name, now_utc())
        for code in agency_codes:
            await grant_agency(tx, portal_id, code)
        token = await insert_key(tx, portal_id, label)
    return portal_id, token


async def issue_key(db: Database, portal_id: str, label: str = "") -> str:
    async with db.transaction() as tx:
        return await insert_key(tx, portal_id, label)


async def insert_key(tx: AsyncConnection, portal_id: str, label: str) -> str:
    issued = keys.issue()
    await repository.insert_key(tx, issued.key_id, portal_id, issued.secret_hash, label, now_utc())
    return issued.token


async def grant_agency(tx: AsyncConnection, portal_id: str, agency_code: str) -> None:
    agency_id = await repository.agency_id(tx, agency_code)
    if agency_id is None:
        raise LookupError(f"no agency with code {agency_code!r}")
    await repository.grant(tx, portal_id, agency_id)


async def upsert_agency(db: Database, spec: AgencySpec) -> str:
    """Add an agency, or update it and replace its catalogue; returns its id."""
    check_agency(spec)
    now = now_utc()
    values = agency_values(spec)
    async with db.transaction() as tx:
        agency_id = await repository.agency_id(tx, spec.code)
        if agency_id is None:
            agency_id = new_id("agy")
            await repository.insert_agency(tx, agency_id, spec.code, now, values)
        else:
            await repository.update_agency(tx, agency_id, values)
        for procedure in spec.procedures:
            await _upsert_procedure(tx, agency_id, procedure)
    return agency_id


async def _upsert_procedure(tx: AsyncConnection, agency_id: str, procedure: Procedure) -> None:
    procedure_id = await repository.procedure_id(tx, agency_id, procedure.code)
    values = procedure_values(procedure)
    if procedure_id is None:
        procedure_id = new_id("prc")
        await repository.insert_procedure(tx, procedure_id, agency_id, procedure.code, values)
    else:
        await repository.update_procedure(tx, procedure_id, values)
    for fee in procedure.fees:
        await repository.insert_fee(tx, procedure_id, fee.code, fee.kind, fee.name, fee.amount)


async def portal_named(db: Database, name: str) -> str | None:
    async with db.read() as conn:
        return await repository.portal_named(conn, name)


async def set_private_webhooks(db: Database, portal_id: str, allowed: bool) -> bool:
    """An operator's decision (``gateway portal allow-private-webhooks``); False if there is no such portal."""
    async with db.transaction() as tx:
        return await repository.set_private_webhooks(tx, portal_id, allowed)


async def authenticate(db: Database, token: str) -> PortalContext | None:
    """The portal of a valid key: well formed, known, its secret matching, neither revoked nor past its overlap."""
    parsed = keys.parse(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    async with db.read() as conn:
        owner = await repository.key_owner(conn, key_id)
        if owner is None or not keys.matches(secret, owner.secret_hash) or not keys.usable(owner, now_utc()):
            return None
        agency_ids = await repository.agency_ids_of(conn, owner.portal_id)
        return PortalContext(
            portal_id=owner.portal_id,
            key_id=key_id,
            agency_ids=agency_ids,
            key_expires_at=owner.expires_at,
            rate_limit=owner.rate_limit,
        )
