"""Signing in and out, and the session a signed-in browser holds.

The browser keeps a random token in a cookie; the database keeps only its SHA-256, with the session's absolute
expiry, the time it was last used (idle expiry counts from it) and the CSRF token bound to it. ``policy`` failed
sign-ins in a row lock the account for a while. Every sign-in, success, failure or lock-out, and every sign-out
is an audit entry. A refused sign-in is one and the same refusal whatever the reason (no such username, a wrong
password, a disabled or a locked account) and costs the same password check, so neither its answer nor its time
tells which accounts exist or are locked; only the audit trail records why.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.settings import Settings
from gateway.store.db import Database

from . import audit, csrf, repository
from .passwords import Passwords
from .records import StaffAccount, StaffMember

TOUCH_EVERY = timedelta(seconds=30)  # last use is written at most this often: idle expiry is that precise
# The one answer to every refused sign-in: it must not tell a locked account from a wrong password or an unknown
# username, so it names every case at once.
INVALID = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khóa do đăng nhập sai nhiều lần."


@dataclass(frozen=True)
class SessionPolicy:
    absolute: timedelta = timedelta(hours=8)
    idle: timedelta = timedelta(minutes=30)
    lockout_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            absolute=timedelta(hours=settings.staff_session_hours),
            idle=timedelta(minutes=settings.staff_idle_minutes),
            lockout_failures=settings.staff_lockout_failures,
            lockout=timedelta(minutes=settings.staff_lockout_minutes),
        )


class SignInRefused(Exception):
    """The sign-in did not succeed. It carries nothing of why: ``message`` (Vietnamese, for the person signing in)
    is the same for every refusal."""

    def __init__(self) -> None:
        super().__init__(INVALID)
        self.message = INVALID


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie; never stored
    member: StaffMember


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _locked(account: StaffAccount, now: datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def member_of(account: StaffAccount, session_hash: str, csrf_token: str) -> StaffMember:
    return StaffMember(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        scope=account.scope,
        agencies=() if account.all_agencies else account.agencies,
        csrf_token=csrf_token,
        session_hash=session_hash,
    )


class StaffSessions:
    def __init__(self, db: Database, passwords: Passwords, policy: SessionPolicy) -> None:
        self.db = db
        self.passwords = passwords
        self.policy = policy

    async def sign_in(self, username: str, password: str, *, client_ip: str, now: datetime) -> SignedIn:
        """A new session for the account, or SignInRefused."""
        username = username.strip().lower()[:64]
        async with self.db.read() as conn:
            found = await repository.by_username(conn, username)
        account, stored = found if found is not None else (None, None)
        if account is None:  # the same work and writes as for an account: its attempt's count, matching no row
            async with self.db.unit() as uow:
                await repository.reserve_attempt(uow.conn, repository.NO_ACCOUNT, now)
            await self.passwords.verify_async(None, password)
            await self._audit(username, "sign_in.failed", client_ip, now, note="no such account")
            raise SignInRefused()
        count, until = await self._reserve(account, client_ip, now)
        if count is None:  # locked: the password is not checked, yet the refusal costs the same work and writes
            await self.passwords.verify_async(None, password)
            note = f"locked until {until.isoformat()}" if until is not None else ""
            await self._audit(account.username, "sign_in.refused_locked", client_ip, now, note)
            raise SignInRefused()
        right = await self.passwords.verify_async(stored, password)
        if not right or not account.active:
            await self._failed(account, client_ip, now, right, count)
        assert stored is not None
        return await self._open(account, stored, password, client_ip, now)

    async def _reserve(
        self, account: StaffAccount, client_ip: str, now: datetime
    ) -> tuple[int | None, datetime | None]:
        """The attempt counted before its password is checked (a success resets the count): attempts sent at once
        cannot outnumber the lock-out's limit. (None, the lock's end) when the account is locked, or is locked by
        this attempt because others in flight took the limit."""
        async with self.db.unit() as uow:
            count, until = await repository.reserve_attempt(uow.conn, account.id, now)
            if count is not None and count <= self.policy.lockout_failures:
                return count, None
            if count is not None:
                # the lock-out and its audit entry wait for the disk, as every audit entry (the attempt's count
                # alone does not: repository.reserve_attempt)
                await repository.commit_durably(uow.conn)
                until = await self._lock(uow.conn, account, client_ip, now)
        return None, until

    async def _lock(self, conn: AsyncConnection, account: StaffAccount, client_ip: str, now: datetime) -> datetime:
        until = now + self.policy.lockout
        await repository.update_account(conn, account.id, failed_sign_ins=0, locked_until=until)
        await self._audit_in(conn, account.username, "sign_in.locked_out", client_ip, now, f"until {until.isoformat()}")
        return until

    async def _failed(self, account: StaffAccount, client_ip: str, now: datetime, right: bool, count: int) -> NoReturn:
        async with self.db.unit() as uow:
            refusal = await self._count_failure(uow.conn, account, client_ip, now, right, count)
        raise refusal

    async def _count_failure(
        self, conn: AsyncConnection, account: StaffAccount, client_ip: str, now: datetime, right: bool, count: int
    ) -> SignInRefused:
        """The attempt (already counted) failed; the lock at the limit. A disabled account is refused like a wrong
        password."""
        if right:
            await self._audit_in(conn, account.username, "sign_in.failed", client_ip, now, "account disabled")
            return SignInRefused()
        await self._audit_in(conn, account.username, "sign_in.failed", client_ip, now, f"failure {count} in a row")
        if count >= self.policy.lockout_failures:
            await self._lock(conn, account, client_ip, now)
        return SignInRefused()

    async def _open(self, account: StaffAccount, stored: str, password: str, client_ip: str, now: datetime) -> SignedIn:
        token, csrf_token = secrets.token_urlsafe(32), csrf.new_token()
        hashed = token_hash(token)
        async with self.db.unit() as uow:
            current = await repository.by_username(uow.conn, account.username, lock=True)
            if current is None or not current[0].active or _locked(current[0], now):
                raise SignInRefused()
            changes: dict[str, object] = {"failed_sign_ins": 0, "locked_until": None, "last_sign_in_at": now}
            if self.passwords.needs_rehash(stored):
                changes["password_hash"] = self.passwords.hash(password)
            await repository.update_account(uow.conn, account.id, **changes)
            await repository.insert_session(
                uow.conn,
                token_hash=hashed,
                staff_id=account.id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.policy.absolute,
                client_ip=client_ip[:45],
            )
            await self._audit_in(uow.conn, account.username, "sign_in.succeeded", client_ip, now)
        return SignedIn(token, member_of(current[0], hashed, csrf_token))

    async def resume(self, token: str, *, now: datetime) -> StaffMember | None:
        """The staff member of a live session: not signed out, not past its absolute or idle expiry, its account
        still enabled. Its last use is moved to ``now``."""
        if not token or len(token) > 128:
            return None
        hashed = token_hash(token)
        async with self.db.read() as conn:
            found = await repository.live_session(conn, hashed)
        if found is None:
            return None
        session, account = found
        if not account.active or now >= session.expires_at or now >= session.last_seen_at + self.policy.idle:
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            async with self.db.unit() as uow:
                await repository.touch_session(uow.conn, hashed, now)
        return member_of(account, hashed, session.csrf_token)

    async def sign_out(self, member: StaffMember, *, client_ip: str, now: datetime) -> None:
        async with self.db.unit() as uow:
            if await repository.end_session(uow.conn, member.session_hash, now):
                await self._audit_in(uow.conn, member.username, "sign_out", client_ip, now)

    async def _audit(self, username: str, action: str, client_ip: str, now: datetime, note: str = "") -> None:
        async with self.db.unit() as uow:
            await self._audit_in(uow.conn, username, action, client_ip, now, note)

    @staticmethod
    async def _audit_in(
        conn: AsyncConnection, username: str, action: str, client_ip: str, now: datetime, note: str = ""
    ) -> None:
        await audit.record(
            conn,
            at=now,
            actor=username,
            action=action,
            subject_type="staff",
            subject_id=username,
            note=note,
            client_ip=client_ip[:45],
        )
