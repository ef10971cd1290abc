"""Portals, their API keys and agencies, and each agency's fee catalogue."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.ids import new_id
from gateway.kernel import receipt_parts
from gateway.kernel.portal import PortalContext
from gateway.kernel.types import CODE_CHARS
from gateway.store.db import Database
from gateway.store.tables import portals as ct
from receipts import Organisation
from receipts.codes import MAX_CODE

from . import keys


@dataclass(frozen=True)
class Fee:
    code: str
    kind: int  # 1 phí, 2 lệ phí
    name: str
    amount: int | None = None  # fixed amount, or None when the portal computes it


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    fees: tuple[Fee, ...]
    service_code: str = ""
    service_name: str = ""
    postal_allowed: bool = True


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    tax_code: str
    address: str
    treasury_account: str
    treasury_bank_code: str
    treasury_account_name: str
    phone: str = ""
    province_code: str | None = None
    commune_code: str | None = None
    procedures: tuple[Procedure, ...] = field(default_factory=tuple)


async def create_portal(
    db: Database, name: str, agency_codes: list[str] = (), label: str = "default"
) -> tuple[str, str]:  # type: ignore[assignment]
    """Create a portal with one API key; returns ``(portal id, api key)``: the key is shown only now."""
    portal_id = new_id("ptl")
    now = now_utc()
    async with db.transaction() as tx:
        await tx.execute(ct.portals.insert().values(id=portal_id, name=name, created_at=now))
        for code in agency_codes:
            await grant_agency(tx, portal_id, code)
        token = await insert_key(tx, portal_id, label)
    return portal_id, token


async def issue_key(db: Database, portal_id: str, label: str = "") -> str:
    async with db.transaction() as tx:
        return await insert_key(tx, portal_id, label)


async def insert_key(tx: AsyncConnection, portal_id: str, label: str) -> str:
    issued = keys.issue()
    await tx.execute(
        ct.api_keys.insert().values(
            id=issued.key_id, portal_id=portal_id, secret_hash=issued.secret_hash, label=label, created_at=now_utc()
        )
    )
    return issued.token


async def grant_agency(tx: AsyncConnection, portal_id: str, agency_code: str) -> None:
    agency_id = (
        await tx.execute(select(ct.agencies.c.id).where(ct.agencies.c.code == agency_code))
    ).scalar_one_or_none()
    if agency_id is None:
        raise LookupError(f"no agency with code {agency_code!r}")
    exists = await tx.execute(
        select(ct.portal_agencies).where(
            ct.portal_agencies.c.portal_id == portal_id, ct.portal_agencies.c.agency_id == agency_id
        )
    )
    if exists.first() is None:
        await tx.execute(ct.portal_agencies.insert().values(portal_id=portal_id, agency_id=agency_id))


def check_agency(spec: AgencySpec) -> None:
    """Refuse (``ValueError`` naming the field) an agency its receipts could not carry: the collecting organisation,
    its procedure codes and its fees are checked with the receipt's own rules, as a portal's request is."""
    Organisation(spec.name, spec.tax_code, spec.address, spec.treasury_account)
    for procedure in spec.procedures:
        if not re.fullmatch(CODE_CHARS, procedure.code) or len(procedure.code) > MAX_CODE:
            raise ValueError(f"procedure code {procedure.code!r}: 1 to {MAX_CODE} of A-Z a-z 0-9 . _ / -")
        for fee in procedure.fees:
            if not re.fullmatch(CODE_CHARS, fee.code):
                raise ValueError(f"fee code {fee.code!r} of {procedure.code}: A-Z a-z 0-9 . _ / - only")
            receipt_parts.line(fee.kind, fee.code, fee.name, 1 if fee.amount is None else fee.amount)


async def upsert_agency(db: Database, spec: AgencySpec) -> str:
    """Add an agency, or update it and replace its catalogue; returns its id."""
    check_agency(spec)
    now = now_utc()
    values = {
        "name": spec.name,
        "tax_code": spec.tax_code,
        "address": spec.address,
        "treasury_account": spec.treasury_account,
        "treasury_bank_code": spec.treasury_bank_code,
        "treasury_account_name": spec.treasury_account_name,
        "phone": spec.phone,
        "province_code": spec.province_code,
        "commune_code": spec.commune_code,
    }
    async with db.transaction() as tx:
        agency_id = (
            await tx.execute(select(ct.agencies.c.id).where(ct.agencies.c.code == spec.code))
        ).scalar_one_or_none()
        if agency_id is None:
            agency_id = new_id("agy")
            await tx.execute(ct.agencies.insert().values(id=agency_id, code=spec.code, created_at=now, **values))
        else:
            await tx.execute(ct.agencies.update().where(ct.agencies.c.id == agency_id).values(**values))
        for procedure in spec.procedures:
            await _upsert_procedure(tx, agency_id, procedure)
    return agency_id


async def _upsert_procedure(tx: AsyncConnection, agency_id: str, procedure: Procedure) -> None:
    p = ct.procedures.c
    procedure_id = (
        await tx.execute(select(p.id).where(p.agency_id == agency_id, p.code == procedure.code))
    ).scalar_one_or_none()
    values = {
        "name": procedure.name,
        "service_code": procedure.service_code,
        "service_name": procedure.service_name,
        "postal_allowed": procedure.postal_allowed,
    }
    if procedure_id is None:
        procedure_id = new_id("prc")
        await tx.execute(
            ct.procedures.insert().values(id=procedure_id, agency_id=agency_id, code=procedure.code, **values)
        )
    else:
        await tx.execute(ct.procedures.update().where(p.id == procedure_id).values(**values))
        await tx.execute(ct.procedure_fees.delete().where(ct.procedure_fees.c.procedure_id == procedure_id))
    for fee in procedure.fees:
        await tx.execute(
            ct.procedure_fees.insert().values(
                procedure_id=procedure_id, code=fee.code, kind=fee.kind, name=fee.name, amount=fee.amount
            )
        )


async def authenticate(db: Database, token: str) -> PortalContext | None:
    """The portal of a valid key: well formed, known, its secret matching, neither revoked nor past its overlap."""
    parsed = keys.parse(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    k = ct.api_keys.c
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(k.portal_id, k.secret_hash, k.revoked_at, k.expires_at, ct.portals.c.rate_limit)
                .join(ct.portals, ct.portals.c.id == k.portal_id)
                .where(k.id == key_id)
            )
        ).first()
        if row is None or not keys.matches(secret, row.secret_hash) or not keys.usable(row, now_utc()):
            return None
        agency_ids = (
            await conn.execute(
                select(ct.portal_agencies.c.agency_id).where(ct.portal_agencies.c.portal_id == row.portal_id)
            )
        ).scalars()
        return PortalContext(
            portal_id=row.portal_id,
            key_id=key_id,
            agency_ids=frozenset(agency_ids),
            key_expires_at=row.expires_at,
            rate_limit=row.rate_limit,
        )
