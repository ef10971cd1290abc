"""All of the portals area's SQL: portals, their API keys and agencies, and each agency's fee catalogue. Functions
on a connection; the use cases choose the transactions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.direct import Direct
from gateway.store.tables import portals as ct

K = ct.api_keys.c
P = ct.portals.c
PR = ct.procedures.c


@dataclass(frozen=True)
class StoredKey:
    """An API key as kept: only the hash of its secret."""

    id: str
    portal_id: str
    secret_hash: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class KeyOwner:
    """What checking a key needs: the key's hash and state, and its portal's rate limit."""

    portal_id: str
    secret_hash: str
    revoked_at: datetime | None
    expires_at: datetime | None
    rate_limit: int | None


# -- portals and keys ---------------------------------------------------------------------------------------------


async def insert_portal(conn: AsyncConnection, portal_id: str, name: str, now: datetime) -> None:
    await conn.execute(ct.portals.insert().values(id=portal_id, name=name, created_at=now))


async def portal_named(conn: AsyncConnection, name: str) -> str | None:
    """The id of a portal with this name (any, if several)."""
    return (await conn.execute(select(P.id).where(P.name == name))).scalar()


async def portal_exists(conn: AsyncConnection, portal_id: str) -> bool:
    return (await conn.execute(select(P.id).where(P.id == portal_id))).first() is not None


async def set_rate_limit(conn: AsyncConnection, portal_id: str, limit: int | None) -> None:
    await conn.execute(ct.portals.update().where(P.id == portal_id).values(rate_limit=limit))


async def allows_private_webhooks(conn: AsyncConnection, portal_id: str) -> bool:
    """Whether an operator let the portal's webhook reach private networks."""
    return bool((await conn.execute(select(P.allow_private_webhooks).where(P.id == portal_id))).scalar())


async def set_private_webhooks(conn: AsyncConnection, portal_id: str, allowed: bool) -> bool:
    """False if there is no such portal."""
    result = await conn.execute(ct.portals.update().where(P.id == portal_id).values(allow_private_webhooks=allowed))
    return bool(result.rowcount)


async def insert_key(
    conn: AsyncConnection, key_id: str, portal_id: str, secret_hash: str, label: str, now: datetime
) -> None:
    await conn.execute(
        ct.api_keys.insert().values(
            id=key_id, portal_id=portal_id, secret_hash=secret_hash, label=label, created_at=now
        )
    )


async def key(conn: AsyncConnection, key_id: str) -> StoredKey | None:
    row = (await conn.execute(select(ct.api_keys).where(K.id == key_id))).first()
    return None if row is None else StoredKey(**row._asdict())


async def keys_of(conn: AsyncConnection, portal_id: str) -> list[StoredKey]:
    rows = await conn.execute(select(ct.api_keys).where(K.portal_id == portal_id).order_by(K.id))
    return [StoredKey(**row._asdict()) for row in rows]


async def revoke_key(conn: AsyncConnection, key_id: str, now: datetime) -> None:
    """Revoke the key unless it already is."""
    await conn.execute(ct.api_keys.update().where(K.id == key_id, K.revoked_at.is_(None)).values(revoked_at=now))


async def end_key(
    conn: AsyncConnection, key_id: str, *, revoked_at: datetime | None, expires_at: datetime | None
) -> None:
    """Revoke the key now, or let it expire: whichever is given."""
    values = {"revoked_at": revoked_at} if revoked_at is not None else {"expires_at": expires_at}
    await conn.execute(ct.api_keys.update().where(K.id == key_id).values(**values))


async def key_owner(conn: AsyncConnection, key_id: str) -> KeyOwner | None:
    query = (
        select(K.portal_id, K.secret_hash, K.revoked_at, K.expires_at, P.rate_limit)
        .join(ct.portals, P.id == K.portal_id)
        .where(K.id == key_id)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else KeyOwner(*row)


async def agency_ids_of(conn: AsyncConnection, portal_id: str) -> frozenset[str]:
    query = select(ct.portal_agencies.c.agency_id).where(ct.portal_agencies.c.portal_id == portal_id)
    return frozenset((await conn.execute(query)).scalars())


# -- agencies and their catalogues ---------------------------------------------------------------------------------


async def agency_codes(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(select(ct.agencies.c.id, ct.agencies.c.code))
    return {agency_id: code for agency_id, code in rows}


async def agency_id(conn: AsyncConnection, code: str) -> str | None:
    return (await conn.execute(select(ct.agencies.c.id).where(ct.agencies.c.code == code))).scalar_one_or_none()


async def grant(conn: AsyncConnection, portal_id: str, agency_id: str) -> None:
    """Let the portal act for the agency (once)."""
    link = ct.portal_agencies.c
    found = await conn.execute(
        select(ct.portal_agencies).where(link.portal_id == portal_id, link.agency_id == agency_id)
    )
    if found.first() is None:
        await conn.execute(ct.portal_agencies.insert().values(portal_id=portal_id, agency_id=agency_id))


async def insert_agency(
    conn: AsyncConnection, agency_id: str, code: str, now: datetime, values: dict[str, Any]
) -> None:
    await conn.execute(ct.agencies.insert().values(id=agency_id, code=code, created_at=now, **values))


async def update_agency(conn: AsyncConnection, agency_id: str, values: dict[str, Any]) -> None:
    await conn.execute(ct.agencies.update().where(ct.agencies.c.id == agency_id).values(**values))


async def procedure_id(conn: AsyncConnection, agency_id: str, code: str) -> str | None:
    query = select(PR.id).where(PR.agency_id == agency_id, PR.code == code)
    return (await conn.execute(query)).scalar_one_or_none()


async def insert_procedure(
    conn: AsyncConnection, procedure_id: str, agency_id: str, code: str, values: dict[str, Any]
) -> None:
    await conn.execute(ct.procedures.insert().values(id=procedure_id, agency_id=agency_id, code=code, **values))


async def update_procedure(conn: AsyncConnection, procedure_id: str, values: dict[str, Any]) -> None:
    """Change the procedure and drop its fees (the caller writes the new catalogue)."""
    await conn.execute(ct.procedures.update().where(PR.id == procedure_id).values(**values))
    await conn.execute(ct.procedure_fees.delete().where(ct.procedure_fees.c.procedure_id == procedure_id))


async def insert_fee(
    conn: AsyncConnection, procedure_id: str, code: str, kind: int, name: str, amount: int | None
) -> None:
    await conn.execute(
        ct.procedure_fees.insert().values(procedure_id=procedure_id, code=code, kind=kind, name=name, amount=amount)
    )


async def agency_by_id(conn: AsyncConnection, agency_id: str) -> Any:
    return (await conn.execute(select(ct.agencies).where(ct.agencies.c.id == agency_id))).one()


async def agency_code(conn: AsyncConnection, agency_id: str) -> str:
    found = await conn.execute(select(ct.agencies.c.code).where(ct.agencies.c.id == agency_id))
    return str(found.scalar_one())


# The catalogue's reads on every creation are built once and run straight on asyncpg on PostgreSQL (``Direct``).
_AGENCY_BY_CODE = Direct(select(ct.agencies).where(ct.agencies.c.code == bindparam("code")))
_FEE_COLUMNS = frozenset(f"fee_{column.name}" for column in ct.procedure_fees.c)
_PROCEDURE_WITH_FEES = Direct(
    select(ct.procedures, *[column.label(f"fee_{column.name}") for column in ct.procedure_fees.c])
    .outerjoin(ct.procedure_fees, ct.procedure_fees.c.procedure_id == PR.id)
    .where(PR.agency_id == bindparam("agency_id"), PR.code == bindparam("code"))
)


def _row(mapping: Mapping[str, Any]) -> Any:
    """A row read on ``Direct``, its columns as attributes as on a SQLAlchemy row."""
    return SimpleNamespace(**mapping)


async def agency_by_code(conn: AsyncConnection, code: str) -> Any:
    """The agency row (every column), or None."""
    rows = await _AGENCY_BY_CODE.rows(conn, {"code": code})
    return _row(rows[0]) if rows else None


async def procedure_by_code(conn: AsyncConnection, agency_id: str, code: str) -> Any:
    """The procedure row (every column), or None."""
    return (await conn.execute(select(ct.procedures).where(PR.agency_id == agency_id, PR.code == code))).first()


@dataclass(frozen=True, slots=True)
class CatalogueFee:
    """A fee of a procedure's catalogue, as its ``procedure_fees`` row holds it."""

    procedure_id: str
    code: str
    kind: int
    name: str
    amount: int | None


async def procedure_with_fees(conn: AsyncConnection, agency_id: str, code: str) -> tuple[Any, dict[str, Any]] | None:
    """The procedure row and its fees by code, in one query (a row per fee); None when there is no such procedure."""
    rows = await _PROCEDURE_WITH_FEES.rows(conn, {"agency_id": agency_id, "code": code})
    if not rows:
        return None
    fees = {
        row["fee_code"]: CatalogueFee(
            row["fee_procedure_id"], row["fee_code"], row["fee_kind"], row["fee_name"], row["fee_amount"]
        )
        for row in rows
        if row["fee_code"] is not None
    }
    procedure = _row({name: value for name, value in rows[0].items() if name not in _FEE_COLUMNS})
    return procedure, fees


async def has_non_postal_procedure(conn: AsyncConnection, agency_id: str) -> bool:
    query = select(PR.code).where(PR.agency_id == agency_id, PR.postal_allowed.is_(False)).limit(1)
    return (await conn.execute(query)).first() is not None


async def fees_of(conn: AsyncConnection, procedure_id: str) -> dict[str, Any]:
    """The procedure's fee rows, by fee code."""
    query = select(ct.procedure_fees).where(ct.procedure_fees.c.procedure_id == procedure_id)
    return {row.code: row for row in await conn.execute(query)}
