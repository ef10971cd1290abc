"""Staff accounts, made and kept from the command line: create, change the password, disable and enable, list.

An account has a role (``roles``) and sees either the agencies named on it (by code) or all of them; each code
named must be an agency of the catalogue (``gateway.portals``), so a typing mistake cannot make an account that sees
nothing, or the agency someone adds later under that code. Changing the password or disabling the account ends its
sessions. Every change is an audit entry, in the change's transaction.

Work is assigned to an account only while it may do it (``break_assignee``), and a change of its access (disabled,
another role, other agencies) keeps that true: in the change's transaction, the work assigned to it is held first
and checked again against the changed account after (``AssignedWork``, the reconciliation's breaks, handed over by
the composition), so what the account may no longer work is no longer assigned to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import portals
from gateway.ids import new_id
from gateway.store.db import Database

from . import audit, repository, roles
from .passwords import Passwords, check_new
from .records import StaffAccount
from .roles import ROLES

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
AGENCY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


class AccountError(ValueError):
    """The account cannot be made or changed as asked (the message says why)."""


class AssignedWork(Protocol):
    """Work another area assigns to staff accounts, kept by an account only while ``break_assignee`` allows it (the
    reconciliation's breaks). A change of an account's access holds the account's work first (locked, as every
    change of that work locks it before the account's row, so the two never wait for each other), then, once the
    account is changed, has it checked again: what the account may no longer work is taken back, in the change's
    transaction."""

    async def hold(self, conn: AsyncConnection, username: str) -> None:
        """Lock the unfinished work assigned to ``username``."""

    async def recheck(self, conn: AsyncConnection, username: str, now: datetime) -> int:
        """Take back from ``username`` the work it may no longer do, as the account now is; how much was taken."""


def normal_username(username: str) -> str:
    return username.strip().lower()


def _checked(username: str, display_name: str, role: str, agencies: tuple[str, ...], all_agencies: bool) -> None:
    if not USERNAME.fullmatch(username):
        raise AccountError("username: 2–64 characters, lower-case letters, digits, '.', '_' or '-'")
    if not display_name.strip() or len(display_name) > 255:
        raise AccountError("name: required, at most 255 characters")
    _checked_access(role, agencies, all_agencies)


def _checked_access(role: str, agencies: tuple[str, ...], all_agencies: bool) -> None:
    if role not in ROLES:
        raise AccountError(f"role: one of {', '.join(ROLES)}")
    if all_agencies == bool(agencies):
        raise AccountError("give the account's agencies (by code) or all agencies, not both or neither")
    for code in agencies:
        if not AGENCY_CODE.fullmatch(code):
            raise AccountError(f"agency code {code!r} is malformed")


async def _check_known(conn: AsyncConnection, codes: tuple[str, ...]) -> None:
    """Refuse agency codes the catalogue does not have (every one of them named)."""
    if not codes:
        return
    unknown = sorted(set(codes) - set((await portals.agency_codes(conn)).values()))
    if unknown:
        listed = ", ".join(repr(code) for code in unknown)
        raise AccountError(f"unknown agency code(s) {listed}: add the agency first (gateway agency add --file …)")


async def create(
    db: Database,
    passwords: Passwords,
    *,
    username: str,
    display_name: str,
    role: str,
    agencies: Iterable[str] = (),
    all_agencies: bool = False,
    password: str,
    now: datetime,
    actor: str,
) -> StaffAccount:
    username, codes = normal_username(username), tuple(sorted(set(agencies)))
    _checked(username, display_name, role, codes, all_agencies)
    values = {
        "id": new_id("stf"),
        "username": username,
        "display_name": display_name.strip(),
        "password_hash": passwords.hash(check_new(password)),
        "role": role,
        "all_agencies": all_agencies,
        "active": True,
        "failed_sign_ins": 0,
        "password_changed_at": now,
        "created_at": now,
        "updated_at": now,
    }
    async with db.unit() as uow:
        if await repository.by_username(uow.conn, username) is not None:
            raise AccountError(f"username {username!r} is taken")
        await _check_known(uow.conn, codes)
        await repository.insert_account(uow.conn, values, codes)
        after = {"role": role, "all_agencies": all_agencies, "agencies": list(codes), "active": True}
        await _entry(uow.conn, username, "staff.created", now=now, actor=actor, after=after)
        found = await repository.by_username(uow.conn, username)
    assert found is not None
    return found[0]


async def _entry(conn: AsyncConnection, username: str, action: str, *, now: datetime, actor: str, **what: Any) -> None:
    """An audit entry about an account, in the caller's transaction."""
    await audit.record(conn, at=now, actor=actor, action=action, subject_type="staff", subject_id=username, **what)


async def _existing(conn: AsyncConnection, username: str) -> StaffAccount:
    found = await repository.by_username(conn, normal_username(username), lock=True)
    if found is None:
        raise AccountError(f"no staff account {username!r}")
    return found[0]


async def change_password(
    db: Database, passwords: Passwords, username: str, password: str, *, now: datetime, actor: str
) -> None:
    hashed = passwords.hash(check_new(password))
    async with db.unit() as uow:
        account = await _existing(uow.conn, username)
        await repository.update_account(
            uow.conn,
            account.id,
            password_hash=hashed,
            password_changed_at=now,
            failed_sign_ins=0,
            locked_until=None,
            updated_at=now,
        )
        ended = await repository.end_sessions_of(uow.conn, account.id, now)
        note = f"{ended} session(s) ended"
        await _entry(uow.conn, account.username, "staff.password_changed", now=now, actor=actor, note=note)


async def set_active(
    db: Database, username: str, active: bool, *, now: datetime, actor: str, assigned: AssignedWork
) -> bool:
    """Enable or disable the account (disabling ends its sessions and takes back its ``assigned`` work); whether
    anything changed."""
    async with db.unit() as uow:
        await assigned.hold(uow.conn, normal_username(username))
        account = await _existing(uow.conn, username)
        if account.active == active:
            return False
        await repository.update_account(uow.conn, account.id, active=active, updated_at=now)
        if not active:
            await repository.end_sessions_of(uow.conn, account.id, now)
        action = "staff.enabled" if active else "staff.disabled"
        change = {"before": {"active": account.active}, "after": {"active": active}}
        await _entry(uow.conn, account.username, action, now=now, actor=actor, **change)
        await assigned.recheck(uow.conn, account.username, now)
    return True


def _access(account: StaffAccount) -> dict[str, object]:
    return {"role": account.role, "all_agencies": account.all_agencies, "agencies": list(account.agencies)}


async def change_access(
    db: Database,
    username: str,
    *,
    role: str | None = None,
    agencies: Iterable[str] = (),
    all_agencies: bool = False,
    now: datetime,
    actor: str,
    assigned: AssignedWork,
) -> bool:
    """Give the account another role, or other agencies (``agencies`` by code, or ``all_agencies``), or both; what is
    not given stays. Its ``assigned`` work it may no longer do is taken back. Whether anything changed."""
    codes = tuple(sorted(set(agencies)))
    async with db.unit() as uow:
        await assigned.hold(uow.conn, normal_username(username))
        account = await _existing(uow.conn, username)
        rescoped = bool(codes) or all_agencies
        new_codes = codes if rescoped else account.agencies
        new_all = all_agencies if rescoped else account.all_agencies
        new_role = account.role if role is None else role
        _checked_access(new_role, new_codes, new_all)
        await _check_known(uow.conn, codes)
        before = _access(account)
        after = {"role": new_role, "all_agencies": new_all, "agencies": list(new_codes)}
        if after == before:
            return False
        await repository.update_account(uow.conn, account.id, role=new_role, all_agencies=new_all, updated_at=now)
        await repository.set_agencies(uow.conn, account.id, new_codes)
        change = {"before": before, "after": after}
        await _entry(uow.conn, account.username, "staff.access_changed", now=now, actor=actor, **change)
        await assigned.recheck(uow.conn, account.username, now)
    return True


async def break_assignee(conn: AsyncConnection, username: str, agency_codes: Iterable[str]) -> str | None:
    """The account's username when ``username`` names an enabled account whose role works breaks (officer, admin)
    and whose agencies cover one of ``agency_codes`` (a break's: the agency its line names and the agency of our
    record), or are every agency: who a break of those agencies may be assigned to. None for anyone else. Read on
    the caller's connection, so the answer and the assignment are one transaction."""
    # locked until the assignment commits: an account disabled meanwhile waits for it, or is seen disabled
    found = await repository.by_username(conn, normal_username(username), lock=True)
    if found is None:
        return None
    account = found[0]
    # a break that names no agency (a COD line the post could not place) is seen, so worked, by all-agency staff only
    covers = account.scope.codes is None or any(account.scope.allows(code) for code in agency_codes if code)
    if account.active and roles.may(account.role, roles.WORK_BREAKS) and covers:
        return account.username
    return None


async def listing(db: Database) -> list[StaffAccount]:
    async with db.read() as conn:
        return await repository.all_accounts(conn)
