"""All of the staff area's SQL: accounts with their agencies, and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import dialect
from gateway.store.tables.staff import staff_accounts, staff_agencies, staff_sessions

from .records import StaffAccount

A = staff_accounts.c
G = staff_agencies.c
S = staff_sessions.c


# ---------------------------------------------------------------- accounts
NO_ACCOUNT = "-"  # an id no account has (ids are generated): what an unknown username's statements look for


async def _agencies(conn: AsyncConnection, staff_id: str) -> tuple[str, ...]:
    rows = await conn.execute(sa.select(G.agency_code).where(G.staff_id == staff_id).order_by(G.agency_code))
    return tuple(rows.scalars())


def _account(row: Any, agencies: tuple[str, ...]) -> StaffAccount:
    m = row._mapping
    return StaffAccount(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        role=m["role"],
        all_agencies=bool(m["all_agencies"]),
        agencies=agencies,
        active=bool(m["active"]),
        failed_sign_ins=m["failed_sign_ins"],
        locked_until=m["locked_until"],
        last_sign_in_at=m["last_sign_in_at"],
        created_at=m["created_at"],
    )


async def by_username(conn: AsyncConnection, username: str, *, lock: bool = False) -> tuple[StaffAccount, str] | None:
    """The account and its password hash. Its agencies are read even when there is no such account, so a sign-in
    cannot tell the two apart by the statements (and time) it takes."""
    query = sa.select(staff_accounts).where(A.username == username)
    if lock:
        query = dialect.locked(conn, query)
    row = (await conn.execute(query)).first()
    agencies = await _agencies(conn, row.id if row is not None else NO_ACCOUNT)
    if row is None:
        return None
    return _account(row, agencies), row.password_hash


async def all_accounts(conn: AsyncConnection) -> list[StaffAccount]:
    rows = (await conn.execute(sa.select(staff_accounts).order_by(A.username))).all()
    return [_account(row, await _agencies(conn, row.id)) for row in rows]


async def insert_account(conn: AsyncConnection, values: dict[str, Any], agencies: tuple[str, ...]) -> None:
    await conn.execute(staff_accounts.insert().values(**values))
    for code in agencies:
        await conn.execute(staff_agencies.insert().values(staff_id=values["id"], agency_code=code))


async def set_agencies(conn: AsyncConnection, account_id: str, agencies: tuple[str, ...]) -> None:
    """The account's agencies are ``agencies`` now (none: it sees every agency, or none named)."""
    await conn.execute(staff_agencies.delete().where(G.staff_id == account_id))
    for code in agencies:
        await conn.execute(staff_agencies.insert().values(staff_id=account_id, agency_code=code))


async def update_account(conn: AsyncConnection, account_id: str, **values: Any) -> None:
    await conn.execute(staff_accounts.update().where(A.id == account_id).values(**values))


async def reserve_attempt(conn: AsyncConnection, account_id: str, now: datetime) -> tuple[int | None, datetime | None]:
    """Count a sign-in attempt before its password is checked, unless the account is locked: (the attempts in a
    row with this one, or None when locked; the end of the lock). The update holds the account's row, so attempts
    sent at once are counted one after another and cannot all pass an unlocked check.

    On PostgreSQL the transaction commits without waiting for the disk (``synchronous_commit`` off, for it alone):
    an attempt on an unknown username changes no row, so its commit has nothing to flush, and an attempt on an
    account must take no longer, or its time would tell which usernames exist. A server crash in the next fraction
    of a second may forget the count as if the attempt had not been made; the attempt's audit entry, written after
    the password check, and a lock-out set in this transaction (``commit_durably``) wait for the disk as every
    other write."""
    await _commit_mode(conn, "OFF")
    unlocked = sa.or_(A.locked_until.is_(None), A.locked_until <= now)
    counted = await conn.execute(
        staff_accounts.update()
        .where(A.id == account_id, unlocked)
        .values(failed_sign_ins=A.failed_sign_ins + 1, updated_at=now)
    )
    row = (await conn.execute(sa.select(A.failed_sign_ins, A.locked_until).where(A.id == account_id))).first()
    if row is None:  # no such account: the same statements ran, and matched nothing
        return None, None
    return (int(row.failed_sign_ins) if counted.rowcount else None), row.locked_until


async def commit_durably(conn: AsyncConnection) -> None:
    """The transaction (one ``reserve_attempt`` ran in) commits waiting for the disk again: for a lock-out it writes."""
    await _commit_mode(conn, "ON")


async def _commit_mode(conn: AsyncConnection, mode: str) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text(f"SET LOCAL synchronous_commit TO {mode}"))


# ---------------------------------------------------------------- sessions
async def insert_session(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(staff_sessions.insert().values(**values))


async def live_session(conn: AsyncConnection, token_hash: str) -> tuple[Any, StaffAccount] | None:
    """A session not signed out, with its account (whatever its expiry: the caller judges)."""
    query = sa.select(staff_sessions).where(S.token_hash == token_hash, S.ended_at.is_(None))
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    account_row = (await conn.execute(sa.select(staff_accounts).where(A.id == row.staff_id))).one()
    return row, _account(account_row, await _agencies(conn, account_row.id))


async def touch_session(conn: AsyncConnection, token_hash: str, now: datetime) -> None:
    await conn.execute(staff_sessions.update().where(S.token_hash == token_hash).values(last_seen_at=now))


async def end_session(conn: AsyncConnection, token_hash: str, now: datetime) -> bool:
    done = await conn.execute(
        staff_sessions.update().where(S.token_hash == token_hash, S.ended_at.is_(None)).values(ended_at=now)
    )
    return bool(done.rowcount)


async def end_sessions_of(conn: AsyncConnection, account_id: str, now: datetime) -> int:
    done = await conn.execute(
        staff_sessions.update().where(S.staff_id == account_id, S.ended_at.is_(None)).values(ended_at=now)
    )
    return int(done.rowcount or 0)
