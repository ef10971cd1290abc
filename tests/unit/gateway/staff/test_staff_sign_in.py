"""Staff accounts, sign-in, sessions and lock-out, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from adapters.vntime import now_utc
from gateway.reconciliation import AssignedBreaks
from gateway.staff import (
    AccountError,
    Passwords,
    SessionPolicy,
    SignInRefused,
    StaffSessions,
    WeakPassword,
    audit,
    change_password,
    create_account,
    csrf,
    repository,
    set_active,
)
from gateway.store.db import Database
from gateway.store.tables.staff import staff_accounts, staff_audit, staff_sessions
from tests.support.staff import FAST, PASSWORD, add_agencies, add_staff

POLICY = SessionPolicy(
    absolute=timedelta(hours=8), idle=timedelta(minutes=30), lockout_failures=3, lockout=timedelta(minutes=15)
)
BREAKS = AssignedBreaks()  # what a change of an account's access hands its assigned breaks to, as the command does


class CountingPasswords(Passwords):
    """The fast hasher, counting the checks it makes against accounts' hashes (``checks``) and against the throwaway
    hash (``throwaway``)."""

    def __init__(self) -> None:
        super().__init__(FAST.hasher)
        self.checks = 0
        self.throwaway = 0

    def verify(self, stored: str, password: str) -> bool:
        if stored == self._nobody:
            self.throwaway += 1
        else:
            self.checks += 1
        return super().verify(stored, password)


def sessions(db: Database, passwords: Passwords = FAST) -> StaffSessions:
    return StaffSessions(db, passwords, POLICY)


async def actions(db: Database, username: str) -> list[str]:
    async with db.read() as conn:
        return [entry.action for entry in await audit.history(conn, "staff", username)]


async def locked_until(db: Database, username: str) -> object:
    async with db.read() as conn:
        query = sa.select(staff_accounts.c.locked_until).where(staff_accounts.c.username == username)
        return (await conn.execute(query)).scalar_one()


async def refusal(staff: StaffSessions, username: str, password: str, *, now: datetime, ip: str = "") -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        await staff.sign_in(username, password, client_ip=ip, now=now)
    return refused.value


async def stored_hash(db: Database, username: str) -> str:
    async with db.read() as conn:
        query = sa.select(staff_accounts.c.password_hash).where(staff_accounts.c.username == username)
        return str((await conn.execute(query)).scalar_one())


async def test_a_sign_in_opens_a_session_of_which_only_the_tokens_hash_is_kept(db: Database) -> None:
    await add_staff(db, "lan", "viewer", ("000.00.01.H26",))
    now = now_utc()
    signed = await sessions(db).sign_in("Lan", PASSWORD, client_ip="203.0.113.9", now=now)
    assert signed.member.username == "lan" and signed.member.role == "viewer"
    assert signed.member.scope.allows("000.00.01.H26") and not signed.member.scope.allows("000.00.02.H26")
    assert not signed.member.can_work_breaks
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(staff_sessions))).all()
    assert len(rows) == 1 and signed.token not in str(tuple(rows[0]))
    member = await sessions(db).resume(signed.token, now=now + timedelta(minutes=1))
    assert member is not None and member.csrf_token == signed.member.csrf_token
    assert await sessions(db).resume(signed.token + "x", now=now) is None
    assert await actions(db, "lan") == ["staff.created", "sign_in.succeeded"]


async def test_a_session_ends_when_idle_at_its_absolute_expiry_and_at_sign_out(db: Database) -> None:
    await add_staff(db, "minh")
    now, staff = now_utc(), sessions(db)
    idle = await staff.sign_in("minh", PASSWORD, client_ip="", now=now)
    assert await staff.resume(idle.token, now=now + timedelta(minutes=29)) is not None
    assert await staff.resume(idle.token, now=now + timedelta(minutes=29 + 30)) is None  # 30 idle minutes
    busy = await staff.sign_in("minh", PASSWORD, client_ip="", now=now)
    at = now
    while at < now + timedelta(hours=8) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        assert await staff.resume(busy.token, now=at) is not None
    assert await staff.resume(busy.token, now=now + timedelta(hours=8)) is None  # used all along, yet over
    third = await staff.sign_in("minh", PASSWORD, client_ip="", now=now)
    member = await staff.resume(third.token, now=now)
    assert member is not None
    await staff.sign_out(member, client_ip="", now=now)
    assert await staff.resume(third.token, now=now) is None
    assert (await actions(db, "minh"))[-1] == "sign_out"


async def test_failed_sign_ins_in_a_row_lock_the_account_for_a_while(db: Database) -> None:
    await add_staff(db, "hoa")
    now, staff = now_utc(), sessions(db)
    await staff.sign_in("hoa", PASSWORD, client_ip="", now=now)  # a success before does not count
    for attempt in range(3):
        await refusal(staff, "hoa", "wrong-password-x", ip="198.51.100.1", now=now)
        assert (await locked_until(db, "hoa") is not None) == (attempt == 2)
    # the right password, while locked: refused
    await refusal(staff, "hoa", PASSWORD, now=now + timedelta(minutes=14))
    assert (await staff.sign_in("hoa", PASSWORD, client_ip="", now=now + timedelta(minutes=15))).token
    trail = await actions(db, "hoa")
    assert trail.count("sign_in.failed") == 3 and trail.count("sign_in.locked_out") == 1
    assert trail[-2:] == ["sign_in.refused_locked", "sign_in.succeeded"]


async def test_every_refusal_is_the_same_answer_after_the_same_work(db: Database) -> None:
    """A locked account, a wrong password, an unknown username and a disabled account are refused alike: one
    message, nothing else to tell them apart, one password check each (a locked or unknown one against the
    throwaway hash); only the audit trail says which it was."""
    await add_staff(db, "vy")
    await add_staff(db, "locked")
    await add_staff(db, "off")
    now, counting = now_utc(), CountingPasswords()
    staff = sessions(db, counting)
    assert await set_active(db, "off", False, now=now, actor="test", assigned=BREAKS)
    for _ in range(POLICY.lockout_failures):
        await refusal(staff, "locked", "wrong-password-x", now=now)
    assert await locked_until(db, "locked") is not None
    counting.checks = counting.throwaway = 0
    answers = []
    for username, password in (
        ("vy", "wrong-password-x"),
        ("locked", "wrong-password-x"),
        ("locked", PASSWORD),
        ("khong-co", PASSWORD),
        ("off", PASSWORD),
    ):
        before = counting.checks + counting.throwaway
        refused = await refusal(staff, username, password, now=now)
        assert counting.checks + counting.throwaway == before + 1, username
        answers.append((type(refused), refused.message, refused.args, vars(refused)))
    assert all(answer == answers[0] for answer in answers), answers
    assert counting.throwaway == 3  # the locked account twice, the unknown username once
    assert (await actions(db, "locked"))[-2:] == ["sign_in.refused_locked", "sign_in.refused_locked"]
    assert await locked_until(db, "vy") is None


async def test_guesses_sent_at_once_get_no_more_password_checks_than_the_lock_out_allows(db: Database) -> None:
    await add_staff(db, "khanh")
    counting = CountingPasswords()
    staff, now = sessions(db, counting), now_utc()

    async def guess(n: int) -> SignInRefused:
        with pytest.raises(SignInRefused) as refused:
            await staff.sign_in("khanh", f"wrong-password-{n}", client_ip="203.0.113.9", now=now)
        return refused.value

    await asyncio.gather(*(guess(n) for n in range(12)))
    assert counting.checks <= POLICY.lockout_failures, "every guess past the limit is refused before its check"
    assert counting.checks + counting.throwaway == 12, "yet each refusal costs one check's work"
    await refusal(staff, "khanh", PASSWORD, now=now + timedelta(minutes=1))  # the right one, while locked
    assert counting.checks <= POLICY.lockout_failures
    trail = await actions(db, "khanh")
    assert trail.count("sign_in.failed") <= POLICY.lockout_failures and "sign_in.locked_out" in trail
    assert trail.count("sign_in.refused_locked") >= 13 - POLICY.lockout_failures


async def test_a_success_ends_the_run_of_failures(db: Database) -> None:
    await add_staff(db, "tuan")
    now, staff = now_utc(), sessions(db)
    for _ in range(2):
        with pytest.raises(SignInRefused):
            await staff.sign_in("tuan", "wrong-password-x", client_ip="", now=now)
    await staff.sign_in("tuan", PASSWORD, client_ip="", now=now)
    for _ in range(2):
        await refusal(staff, "tuan", "wrong-password-x", now=now)
    assert await locked_until(db, "tuan") is None


async def test_an_unknown_username_is_refused_alike_after_the_same_work(db: Database) -> None:
    """The same answer after the same password work and the same statements, in the same transactions: the time
    a refusal takes does not tell an unknown username from a known one."""
    await add_staff(db, "quang")
    counting = CountingPasswords()
    staff = sessions(db, counting)
    with statements(db) as unknown_sql, pytest.raises(SignInRefused) as unknown:
        await staff.sign_in("khong-co", PASSWORD, client_ip="", now=now_utc())
    with statements(db) as wrong_sql, pytest.raises(SignInRefused) as wrong:
        await staff.sign_in("quang", "wrong-password-x", client_ip="", now=now_utc())
    assert unknown.value.message == wrong.value.message and (counting.checks, counting.throwaway) == (1, 1)
    assert unknown_sql == wrong_sql and "UPDATE" in unknown_sql
    assert await actions(db, "khong-co") == ["sign_in.failed"]


async def test_an_attempt_is_counted_without_waiting_for_the_disk_whether_or_not_the_account_exists(
    db: Database,
) -> None:
    """An attempt on a known account writes its count, one on an unknown username writes nothing: were the first
    to wait for the write-ahead log's flush at commit, the difference would time which usernames exist."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's commit mode; SQLite is the single-machine store")
    account = await add_staff(db, "hoa")
    for account_id in (account.id, repository.NO_ACCOUNT):
        async with db.unit() as uow:
            await repository.reserve_attempt(uow.conn, account_id, now_utc())
            mode = (await uow.conn.execute(sa.text("SHOW synchronous_commit"))).scalar_one()
        assert mode == "off"
    async with db.unit() as uow:  # a lock-out set in that transaction waits for the disk
        await repository.reserve_attempt(uow.conn, account.id, now_utc())
        await repository.commit_durably(uow.conn)
        assert (await uow.conn.execute(sa.text("SHOW synchronous_commit"))).scalar_one() == "on"
    async with db.unit() as uow:  # for that transaction alone
        assert (await uow.conn.execute(sa.text("SHOW synchronous_commit"))).scalar_one() == "on"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The verb of each statement sent to the database meanwhile (BEGIN, SELECT, UPDATE, INSERT, COMMIT...)."""
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    def begin(conn: object) -> None:
        seen.append("BEGIN")

    def commit(conn: object) -> None:
        seen.append("COMMIT")

    engine = db.engine.sync_engine
    hooks = (("before_cursor_execute", note), ("begin", begin), ("commit", commit))
    for name, hook in hooks:
        sa.event.listen(engine, name, hook)
    try:
        yield seen
    finally:
        for name, hook in hooks:
            sa.event.remove(engine, name, hook)


async def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(db: Database) -> None:
    await add_staff(db, "binh")
    now, staff = now_utc(), sessions(db)
    signed = await staff.sign_in("binh", PASSWORD, client_ip="", now=now)
    assert await set_active(db, "binh", False, now=now, actor="test", assigned=BREAKS)
    assert not await set_active(db, "binh", False, now=now, actor="test", assigned=BREAKS)
    assert await staff.resume(signed.token, now=now) is None
    with pytest.raises(SignInRefused):
        await staff.sign_in("binh", PASSWORD, client_ip="", now=now)
    assert await set_active(db, "binh", True, now=now, actor="test", assigned=BREAKS)
    assert (await staff.sign_in("binh", PASSWORD, client_ip="", now=now)).token


async def test_a_new_password_ends_the_sessions_and_replaces_the_old(db: Database) -> None:
    await add_staff(db, "dung")
    now, staff = now_utc(), sessions(db)
    signed = await staff.sign_in("dung", PASSWORD, client_ip="", now=now)
    await change_password(db, FAST, "dung", "mat-khau-moi-dai-hon", now=now, actor="test")
    assert await staff.resume(signed.token, now=now) is None
    with pytest.raises(SignInRefused):
        await staff.sign_in("dung", PASSWORD, client_ip="", now=now)
    assert (await staff.sign_in("dung", "mat-khau-moi-dai-hon", client_ip="", now=now)).token
    with pytest.raises(WeakPassword):
        await change_password(db, FAST, "dung", "ngan", now=now, actor="test")
    with pytest.raises(AccountError):
        await change_password(db, FAST, "khong-co", "mat-khau-moi-dai-hon", now=now, actor="test")


async def test_a_hash_made_with_other_parameters_is_replaced_at_sign_in(db: Database) -> None:
    await add_staff(db, "thu")  # cheap parameters
    before = await stored_hash(db, "thu")
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1))
    assert stronger.needs_rehash(before)
    await sessions(db, stronger).sign_in("thu", PASSWORD, client_ip="", now=now_utc())
    after = await stored_hash(db, "thu")
    assert after != before and not stronger.needs_rehash(after) and stronger.verify(after, PASSWORD)
    assert await stored_hash(db, "thu") == after  # the next sign-in keeps it
    await sessions(db, stronger).sign_in("thu", PASSWORD, client_ip="", now=now_utc())
    assert await stored_hash(db, "thu") == after


async def test_accounts_are_checked_when_made(db: Database) -> None:
    await add_staff(db, "an")
    with pytest.raises(AccountError):
        await add_staff(db, "AN")  # taken, whatever the case
    with pytest.raises(AccountError):
        await add_staff(db, "bo", role="root")
    with pytest.raises(AccountError):
        await add_staff(db, "a b")
    with pytest.raises(WeakPassword):
        await add_staff(db, "chi", password="short")
    await add_agencies(db, "000.00.01.H26")
    for codes in (("000.00.09.H26",), ("000.00.01.H26", "000.00.09.H26", "H26.X")):  # not in the catalogue
        with pytest.raises(AccountError, match=r"unknown agency code\(s\) '000.00.09.H26'"):
            await create_account(
                db,
                FAST,
                username="dao",
                display_name="Đào",
                role="officer",
                agencies=codes,
                password=PASSWORD,
                now=now_utc(),
                actor="test",
            )
    async with db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(staff_accounts))).scalar_one()
        entries = (await conn.execute(sa.select(sa.func.count()).select_from(staff_audit))).scalar_one()
    assert count == 1 and entries == 1


def test_the_csrf_check_wants_the_sessions_own_token() -> None:
    token = csrf.new_token()
    assert csrf.matches(token, token)
    assert not csrf.matches(token, csrf.new_token())
    assert not csrf.matches(token, None) and not csrf.matches(token, "") and not csrf.matches("", "")
    assert not csrf.matches(token, ["list"])


async def test_each_session_has_its_own_csrf_token_which_only_it_accepts(db: Database) -> None:
    await add_staff(db, "khanh")
    now, staff = now_utc(), sessions(db)
    first = await staff.sign_in("khanh", PASSWORD, client_ip="", now=now)
    second = await staff.sign_in("khanh", PASSWORD, client_ip="", now=now)
    one, two = await staff.resume(first.token, now=now), await staff.resume(second.token, now=now)
    assert one is not None and two is not None and one.csrf_token != two.csrf_token
    assert csrf.matches(one.csrf_token, first.member.csrf_token)
    assert not csrf.matches(one.csrf_token, two.csrf_token)
    await staff.sign_out(one, client_ip="", now=now)
    assert await staff.resume(first.token, now=now) is None and await staff.resume(second.token, now=now) is not None
