"""A unit of work keeps the writes nothing in it reads (events, audit and ledger rows) until it commits and sends
them together (one statement on PostgreSQL): the rows are those the writes would leave one by one, in the order
given, and a write that fails fails the whole unit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, column, delete, func, select, table, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.store import outbox
from gateway.store.db import Database, DatabaseUnavailable
from gateway.store.direct import CHECKED_UNIT, Direct, Part, _joined, insert_rows, write_together
from gateway.store.tables import idempotency as it
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from gateway.store.uow import LostChange
from tests.support.services import migrated_database, wait_for
from tests.support.store_rows import a_portal, hub_result_row

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
_HUB_RESULT = Direct(pt.hub_results.insert())
_EVENT_ROW = Direct(ot.outbox.insert())
H = pt.hub_results.c


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def announce(uow, portal_id: str, dossier: str, i: int, payload: Any = None) -> str:  # type: ignore[no-untyped-def]
    return await uow.event(  # type: ignore[no-any-return]
        portal_id=portal_id,
        dossier_code=dossier,
        type="payment.paid",
        resource_type="payment",
        resource_id=f"pay_{i}",
        payload={"i": i, "tên": "Nguyễn"} if payload is None else payload,
        now=NOW,
    )


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    units=st.lists(st.lists(st.sampled_from(["HS-1", "HS-2", "HS-3"]), max_size=6), min_size=1, max_size=3),
    audits=st.integers(0, 3),
)
async def test_events_kept_for_the_commit_are_numbered_and_ordered_as_announced(
    db: Database, units: list[list[str]], audits: int
) -> None:
    portal_id = await a_portal(db)
    async with db.unit() as uow:
        await uow.conn.execute(delete(ot.outbox))
        await uow.conn.execute(delete(ot.dossier_sequences))
        await uow.conn.execute(delete(pt.hub_results))
    announced: list[tuple[str, str]] = []
    references = []
    for n, dossiers in enumerate(units):
        async with db.unit() as uow:
            for i, dossier in enumerate(dossiers):
                announced.append((await announce(uow, portal_id, dossier, i), dossier))
            for a in range(audits):
                references.append(f"REF-{n}-{a}")
                uow.later(_HUB_RESULT, [hub_result_row(references[-1])])

    async with db.read() as conn:
        rows = (await conn.execute(select(ot.outbox).order_by(ot.outbox.c.txid, ot.outbox.c.position))).all()
        kept = (await conn.execute(select(H.reference).order_by(H.reference))).scalars().all()
    assert [row.id for row in rows] == [event_id for event_id, _ in announced]  # the feed's order is the announced
    expected: dict[str, int] = {}
    for row, (_, dossier) in zip(rows, announced, strict=True):
        expected[dossier] = expected.get(dossier, 0) + 1
        assert (row.dossier_code, row.sequence) == (dossier, expected[dossier])
        assert row.payload["tên"] == "Nguyễn"
    assert kept == sorted(references)


async def test_a_kept_write_that_fails_fails_the_whole_unit(db: Database) -> None:
    portal_id = await a_portal(db)
    taken = {
        "id": "evt_taken",
        "portal_id": portal_id,
        "dossier_code": "HS-TAKEN",
        "sequence": 1,
        "type": "x",
        "resource_type": "payment",
        "resource_id": "pay_1",
        "payload": {},
        "created_at": NOW,
    }
    async with db.unit() as uow:
        uow.later(_EVENT_ROW, [taken])
    with pytest.raises(IntegrityError):
        async with db.unit() as uow:
            await uow.conn.execute(pt.hub_results.insert().values(hub_result_row("REF-WRITTEN-AT-ONCE")))
            await announce(uow, portal_id, "HS-FAIL", 1)
            uow.later(_HUB_RESULT, [hub_result_row("REF-KEPT")])
            uow.later(_EVENT_ROW, [taken])  # an event's id is unique
    async with db.read() as conn:
        references = (await conn.execute(select(H.reference))).scalars().all()
        events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-FAIL"))).all()
    assert "REF-WRITTEN-AT-ONCE" not in references and "REF-KEPT" not in references and events == []


async def test_a_unit_that_raises_writes_nothing_it_kept(db: Database) -> None:
    portal_id = await a_portal(db)
    with pytest.raises(RuntimeError):
        async with db.unit() as uow:
            await announce(uow, portal_id, "HS-RAISED", 1)
            uow.later(_HUB_RESULT, [hub_result_row("REF-RAISED")])
            raise RuntimeError("the change failed after announcing")
    async with db.read() as conn:
        assert (await conn.execute(select(H.reference).where(H.reference == "REF-RAISED"))).first() is None
        raised = select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-RAISED")
        assert (await conn.execute(raised)).first() is None


_RENAME = Direct(pt.hub_results.update().where(H.reference == bindparam("b_was")))


async def test_a_change_kept_for_the_commit_goes_with_the_other_writes(db: Database) -> None:
    portal_id = await a_portal(db)
    async with db.unit() as uow:
        uow.later(_HUB_RESULT, [hub_result_row("REF-OLD")])
    async with db.unit() as uow:
        uow.change_later(_RENAME, {"reference": "REF-NEW", "b_was": "REF-OLD"})
        await announce(uow, portal_id, "HS-CHANGED", 1)
        uow.later(_HUB_RESULT, [hub_result_row("REF-BESIDE")])
        # not sent yet, not even in the unit: it goes with the commit, in the writes' round trip
        assert (await uow.conn.execute(select(H.reference).where(H.reference == "REF-NEW"))).first() is None
    async with db.read() as conn:
        references = set((await conn.execute(select(H.reference))).scalars())
        events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-CHANGED"))).all()
    assert references == {"REF-NEW", "REF-BESIDE"} and len(events) == 1


@pytest.mark.parametrize("rows", [0, 2])
async def test_a_kept_change_that_does_not_change_one_row_fails_the_whole_unit(db: Database, rows: int) -> None:
    """The row a kept change was for is not as its caller read it (no row matches), or the change would reach more
    than its one row: the unit commits nothing, neither the change nor the writes and events kept with it."""
    portal_id = await a_portal(db)
    async with db.unit() as uow:
        uow.later(_HUB_RESULT, [hub_result_row("REF-TWICE") for _ in range(2)])
    was = "REF-GONE" if rows == 0 else "REF-TWICE"
    with pytest.raises(LostChange, match="exactly its one row"):
        async with db.unit() as uow:
            await announce(uow, portal_id, "HS-LOST", 1)
            uow.later(_HUB_RESULT, [hub_result_row("REF-WITH-IT")])
            uow.change_later(_RENAME, {"reference": "REF-CHANGED", "b_was": was})
    async with db.read() as conn:
        references = set((await conn.execute(select(H.reference))).scalars())
        events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-LOST"))).all()
    assert references == {"REF-TWICE"} and events == []


async def test_a_checked_unit_writes_what_it_kept_in_one_statement_without_a_transaction(db: Database) -> None:
    portal_id = await a_portal(db)
    async with db.unit() as uow:
        uow.later(_HUB_RESULT, [hub_result_row("REF-READ")])
    async with db.checked_unit() as uow:
        [row] = (await uow.conn.execute(select(H.reference, H.amount).where(H.reference == "REF-READ"))).all()
        uow.change_later(_RENAME, {"reference": "REF-MOVED", "b_was": row.reference})
        await announce(uow, portal_id, "HS-CHECKED", 1)
        uow.later(_HUB_RESULT, [hub_result_row("REF-AUDIT")])
        if not db.is_sqlite:  # each statement its own transaction: now() is each one's start
            first, second = [(await uow.conn.execute(text("SELECT now()"))).scalar_one() for _ in range(2)]
            assert first < second and uow.checked
    async with db.read() as conn:
        references = set((await conn.execute(select(H.reference))).scalars())
        events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-CHECKED"))).all()
    assert references == {"REF-MOVED", "REF-AUDIT"} and len(events) == 1


@pytest.mark.postgres
async def test_a_checked_unit_whose_row_moved_after_its_reading_writes_nothing(tmp_path: Path) -> None:
    """Another unit changes the row between the checked unit's reading and its write: the checked unit's one
    statement is aborted whole (its events, its audit row and its change), and says so."""
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        async with db.unit() as uow:
            uow.later(_HUB_RESULT, [hub_result_row("REF-READ")])
        with pytest.raises(LostChange):
            async with db.checked_unit() as uow:
                [row] = (await uow.conn.execute(select(H.reference).where(H.reference == "REF-READ"))).all()
                async with db.unit() as other:
                    other.change_later(_RENAME, {"reference": "REF-OTHER", "b_was": "REF-READ"})
                uow.change_later(_RENAME, {"reference": "REF-MINE", "b_was": row.reference})
                await announce(uow, portal_id, "HS-LOST", 1)
                uow.later(_HUB_RESULT, [hub_result_row("REF-AUDIT")])
        async with db.read() as conn:
            references = set((await conn.execute(select(H.reference))).scalars())
            events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-LOST"))).all()
            sequences = (await conn.execute(select(ot.dossier_sequences.c.dossier_code))).scalars().all()
    assert references == {"REF-OTHER"} and events == [] and "HS-LOST" not in sequences


@pytest.mark.postgres
async def test_a_checked_unit_whose_row_is_being_moved_waits_and_writes_nothing(tmp_path: Path) -> None:
    """Another unit has moved the row and holds it, not yet committed, when the checked unit's statement comes: the
    statement waits for it, then finds the row no longer as read and is aborted whole."""
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        async with db.unit() as uow:
            uow.later(_HUB_RESULT, [hub_result_row("REF-READ")])

        async def checked() -> None:
            async with db.checked_unit() as uow:
                [row] = (await uow.conn.execute(select(H.reference).where(H.reference == "REF-READ"))).all()
                uow.change_later(_RENAME, {"reference": "REF-MINE", "b_was": row.reference})
                await announce(uow, portal_id, "HS-WAITED", 1)
                uow.later(_HUB_RESULT, [hub_result_row("REF-AUDIT")])
                read.set()
                await other_moved.wait()

        read, other_moved = asyncio.Event(), asyncio.Event()
        async with db.unit() as other:
            task = asyncio.create_task(checked())
            await read.wait()
            await other.conn.execute(pt.hub_results.update().where(H.reference == "REF-READ").values(reference="X"))
            other_moved.set()

            async def waiting() -> bool:
                async with db.read() as conn:
                    locks = (
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    return bool((await conn.execute(text(locks))).scalar_one())

            await wait_for(waiting, what="the checked unit's statement waiting for the row")
        with pytest.raises(LostChange):
            await task
        async with db.read() as conn:
            references = set((await conn.execute(select(H.reference))).scalars())
            events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-WAITED"))).all()
    assert references == {"X"} and events == []


@pytest.mark.postgres
async def test_a_checked_unit_whose_writes_need_several_statements_is_refused_unsent(tmp_path: Path) -> None:
    """Kept writes past what one statement takes would go in several statements, which a checked unit cannot make
    one: it is refused before anything is sent."""
    names = ("reference", "source", "raw_code", "outcome", "amount", "transaction_id", "disposition", "received_at")
    untyped = Direct(table("hub_results", *(column(name) for name in names)).insert())
    async with migrated_database("postgres", tmp_path) as db:
        async with db.unit() as uow:
            uow.later(_HUB_RESULT, [hub_result_row("REF-SEED")])
        with pytest.raises(ValueError, match="one statement"):
            async with db.checked_unit() as uow:
                uow.later(untyped, [hub_result_row(f"REF-{i}") for i in range(4_500)])  # 36,000 parameters
                uow.change_later(_RENAME, {"reference": "REF-X", "b_was": "REF-SEED"})
        async with db.read() as conn:
            assert set((await conn.execute(select(H.reference))).scalars()) == {"REF-SEED"}


@pytest.mark.postgres
async def test_a_checked_unit_refuses_a_write_sent_at_once_and_binds_a_key_with_its_writes(tmp_path: Path) -> None:
    """In autocommit a write sent at once would commit at once, outside the one statement that applies a checked
    unit's writes only to what it read: it is refused, whether run through SQLAlchemy or straight on asyncpg, and
    nothing is written. Checked units' connections are their own: an ordinary unit's is never marked, and writes. A
    connection held between checked units is handed to the next one as it was left. A key's binding is the
    unit's kept change: it goes with the writes, which fail whole if the key's row is not there."""
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        audit = hub_result_row("REF-AT-ONCE")
        refused = [
            lambda conn: conn.execute(pt.hub_results.insert().values(**audit)),
            lambda conn: _HUB_RESULT.change(conn, audit),
            lambda conn: _HUB_RESULT.change_many(conn, [audit]),
            lambda conn: Direct(pt.hub_results.insert().returning(H.id)).rows(conn, audit),
            lambda conn: _RENAME.change(conn, {"reference": "REF-X", "b_was": "REF-Y"}),
            lambda conn: conn.execute(delete(pt.hub_results)),
            lambda conn: conn.execute(text("INSERT INTO hub_results (reference) VALUES ('x')")),
            lambda conn: conn.exec_driver_sql("DELETE FROM hub_results"),
            lambda conn: Direct(text("UPDATE hub_results SET amount = 1")).change(conn, {}),
            lambda conn: conn.execute(select(H.id).with_for_update()),  # a row lock in autocommit: a commit
            lambda conn: Direct(select(H.id).with_for_update()).rows(conn, {}),
            lambda conn: insert_rows(conn, pt.hub_results, [audit]),
        ]
        records = []
        for write in refused:
            with pytest.raises(ValueError, match="nothing at once"):
                async with db.checked_unit() as uow:
                    assert (await uow.conn.execute(select(func.count()).select_from(pt.hub_results))).scalar_one() == 0
                    records.append(uow.conn.sync_connection.connection._connection_record)  # type: ignore[union-attr]
                    await write(uow.conn)
        assert all(record.info.get(CHECKED_UNIT) for record in records), "the checked units' connections are marked"
        async with db.checked_unit() as uow:  # a connection given back after a refusal's doubt is sound
            assert (await uow.conn.execute(select(func.count()).select_from(pt.hub_results))).scalar_one() == 0
        async with db.unit() as uow:  # an ordinary unit's connection, never marked
            ordinary = uow.conn.sync_connection.connection._connection_record  # type: ignore[union-attr]
            assert CHECKED_UNIT not in ordinary.info
            assert ordinary not in records
            await uow.conn.execute(pt.hub_results.insert().values(**hub_result_row("REF-LATER")))
        async with db.read() as conn:
            assert set((await conn.execute(select(H.reference))).scalars()) == {"REF-LATER"}

        with pytest.raises(LostChange):  # no key row to bind
            async with db.checked_unit() as uow:
                await uow.bind(Attempt(owner=portal_id, key="K-NONE"), "pay_1")
                uow.later(_HUB_RESULT, [hub_result_row("REF-UNBOUND")])
        async with db.unit() as uow:
            uow.later(_KEY, [key_row(portal_id, "K-2")])
        async with db.checked_unit() as uow:
            await uow.bind(Attempt(owner=portal_id, key="K-2"), "pay_2")
            uow.later(_HUB_RESULT, [hub_result_row("REF-BOUND")])
        with pytest.raises(LostChange):  # bound already: a key is bound once
            async with db.checked_unit() as uow:
                await uow.bind(Attempt(owner=portal_id, key="K-2"), "pay_3")
        with pytest.raises(Refused, match="took it over"):  # and so in an ordinary unit
            async with db.unit() as uow:
                uow.later(_HUB_RESULT, [hub_result_row("REF-NOT-BOUND")])
                await uow.bind(Attempt(owner=portal_id, key="K-2"), "pay_3")
        async with db.read() as conn:
            bound = select(it.idempotency_keys.c.resource_id).where(it.idempotency_keys.c.key == "K-2")
            assert (await conn.execute(bound)).scalar_one() == "pay_2"
            assert set((await conn.execute(select(H.reference))).scalars()) == {"REF-LATER", "REF-BOUND"}


_KEY = Direct(it.idempotency_keys.insert())
IDEMPOTENCY_KEY = "pk_idempotency_keys"


def key_row(portal_id: str, key: str) -> dict[str, Any]:
    return {
        "portal_id": portal_id,
        "key": key,
        "method": "POST",
        "path": "/v1/payments",
        "request_hash": "0" * 64,
        "state": "done",
        "created_at": NOW,
    }


@pytest.mark.postgres
async def test_a_checked_unit_whose_new_key_was_taken_after_its_reading_writes_nothing(tmp_path: Path) -> None:
    """A checked unit reads a key as free and keeps its row, with no change of a row: another unit takes the key
    first. The unit's statement fails whole on the key and says what was read is no longer so (``LostChange``);
    under a constraint the unit did not read as free, or in an ordinary unit, a key taken is the error it is."""
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        with pytest.raises(LostChange, match="read as free"):
            async with db.checked_unit() as uow:
                taken = select(it.idempotency_keys.c.key).where(it.idempotency_keys.c.key == "K-1")
                assert (await uow.conn.execute(taken)).first() is None
                async with db.unit() as other:
                    other.later(_KEY, [key_row(portal_id, "K-1")])
                uow.later(_KEY, [key_row(portal_id, "K-1")], read_free=IDEMPOTENCY_KEY)
                await announce(uow, portal_id, "HS-KEY", 1)
        async with db.read() as conn:
            events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-KEY"))).all()
        assert events == []
        with pytest.raises(IntegrityError):
            async with db.checked_unit() as uow:
                uow.later(_KEY, [key_row(portal_id, "K-1")], read_free="uq_some_other_constraint")
        with pytest.raises(IntegrityError):
            async with db.unit() as uow:
                uow.later(_KEY, [key_row(portal_id, "K-1")], read_free=IDEMPOTENCY_KEY)


async def test_checked_work_is_read_again_while_what_it_read_changes_then_the_database_is_busy(
    db: Database,
) -> None:
    """``Database.checked`` runs the work again, in a new unit, each time its write finds what it read changed,
    and answers a busy database at the last reading; work that meets no change runs once."""
    portal_id = await a_portal(db)
    async with db.unit() as uow:
        uow.later(_HUB_RESULT, [hub_result_row("REF-0")])
    readings: list[str] = []
    moves = [0]

    def moving(changes: int):  # type: ignore[no-untyped-def]
        async def work(uow) -> str:  # type: ignore[no-untyped-def]
            [reference] = (await uow.conn.execute(select(H.reference))).scalars().all()
            readings.append(reference)
            if len(readings) <= changes:  # another unit moves the row after this reading
                moves[0] += 1
                async with db.unit() as other:
                    other.change_later(_RENAME, {"reference": f"REF-{moves[0]}", "b_was": reference})
            uow.change_later(_RENAME, {"reference": "REF-MINE", "b_was": reference})
            await announce(uow, portal_id, "HS-READ", len(readings))
            return reference

        return work

    if db.is_sqlite:  # a checked unit there is an ordinary one, holding the write lock: nothing moves meanwhile
        assert await db.checked(moving(0), readings=3, what="row") == "REF-0"
        assert readings == ["REF-0"]
        return
    with pytest.raises(DatabaseUnavailable, match="row kept changing"):
        await db.checked(moving(3), readings=3, what="row")
    assert readings == ["REF-0", "REF-1", "REF-2"]
    readings.clear()
    assert await db.checked(moving(1), readings=3, what="row") == "REF-4"
    assert readings == ["REF-3", "REF-4"]
    async with db.read() as conn:
        assert set((await conn.execute(select(H.reference))).scalars()) == {"REF-MINE"}
        events = (await conn.execute(select(ot.outbox.c.id).where(ot.outbox.c.dossier_code == "HS-READ"))).all()
    assert len(events) == 1


async def test_a_unit_keeps_one_change_and_only_an_update(tmp_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path) as db, db.unit() as uow:
        with pytest.raises(ValueError, match="only an UPDATE without RETURNING"):
            uow.change_later(Direct(pt.hub_results.update().returning(H.id)), {"amount": 1})
        with pytest.raises(ValueError, match="only an UPDATE"):
            uow.change_later(_HUB_RESULT, hub_result_row("REF-X"))
        uow.change_later(_RENAME, {"reference": "REF-A", "b_was": "REF-B"})
        with pytest.raises(ValueError, match="one change"):
            uow.change_later(_RENAME, {"reference": "REF-C", "b_was": "REF-D"})
        uow._change = None  # nothing to change here


async def test_parts_need_names_of_their_own(tmp_path: Path) -> None:
    async with migrated_database("postgres", tmp_path) as db, db.unit() as uow:
        first = _HUB_RESULT.part(uow.conn, hub_result_row("REF-A"), "same")
        second = _HUB_RESULT.part(uow.conn, hub_result_row("REF-B"), "same")
        with pytest.raises(ValueError, match="a name of its own"):
            await write_together(uow.conn, [first, second, Part("", "SELECT 1", [])])
        with pytest.raises(ValueError, match="at most 32767"):
            await write_together(uow.conn, [Part("", "SELECT 1", [0] * 32_768)])


async def test_only_inserts_are_kept_and_no_literal_dollar_is_renumbered(tmp_path: Path) -> None:
    async with migrated_database("postgres", tmp_path) as db:
        with pytest.raises(ValueError, match="only an INSERT"):
            async with db.unit() as uow:
                uow.later(Direct(pt.hub_results.update().where(H.reference == "R")), [{"amount": 1}])
        async with db.unit() as uow:
            with pytest.raises(ValueError, match="not a parameter"):
                Direct(text("SELECT '$1' AS price, :amount AS amount")).part(uow.conn, {"amount": 1})
            with pytest.raises(ValueError, match="not a parameter"):
                Direct(text('SELECT 1 AS "$2", :amount AS amount')).part(uow.conn, {"amount": 1})
            quoted = Direct(text("SELECT 'it''s' AS x, :amount AS amount")).part(uow.conn, {"amount": 1})
            assert (quoted.sql.count("$"), quoted.arguments) == (1, [1])


async def test_a_unit_may_keep_more_writes_than_one_statement_takes(tmp_path: Path) -> None:
    """A statement takes at most 32,767 parameters through asyncpg. 5,000 events go in one statement as arrays;
    4,000 rows of an INSERT whose parameters have no type (a part a row, 36,000 parameters) go in several, numbered
    and ordered as one would be."""
    names = ("reference", "source", "raw_code", "outcome", "amount", "transaction_id", "disposition", "received_at")
    untyped = Direct(table("hub_results", *(column(name) for name in names)).insert())
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        announced = []
        async with db.unit() as uow:
            for i in range(5_000):
                dossier = f"HS-{i % 2}"
                announced.append((await announce(uow, portal_id, dossier, i), dossier))
            rows = [hub_result_row(f"REF-{i}") for i in range(4_000)]
            uow.later(untyped, rows)
            assert len(untyped.parts(uow.conn, rows)) == 4_000
        async with db.read() as conn:
            rows = (await conn.execute(select(ot.outbox).order_by(ot.outbox.c.position))).all()
            kept = (await conn.execute(select(func.count()).select_from(pt.hub_results))).scalar_one()
    assert [row.id for row in rows] == [event_id for event_id, _ in announced]
    assert [row.sequence for row in rows if row.dossier_code == "HS-1"] == list(range(1, 2_501))
    assert kept == 4_000


async def test_the_rows_of_one_insert_go_as_one_part_whatever_their_number(tmp_path: Path) -> None:
    """Kept rows of one INSERT become one part whose parameters are arrays of the rows' values, its SQL the same for
    any number of rows, the rows stored in the order given; a statement whose values are not a row of parameters
    stays a part a row."""
    async with migrated_database("postgres", tmp_path) as db, db.unit() as uow:
        rows = [hub_result_row(f"REF-{i:03}") for i in reversed(range(300))]
        width = len(_HUB_RESULT.part(uow.conn, rows[0]).arguments)
        (merged,) = _HUB_RESULT.parts(uow.conn, rows)
        (two,) = _HUB_RESULT.parts(uow.conn, rows[:2])
        assert merged.sql == two.sql and "unnest(" in merged.sql
        singles = [_HUB_RESULT.part(uow.conn, row).arguments for row in rows]
        assert merged.arguments == [[single[n] for single in singles] for n in range(width)]
        selected = Direct(text("INSERT INTO outbox_probe (x) SELECT :x"))
        assert len(selected.parts(uow.conn, [{"x": 1}, {"x": 2}])) == 2
        await write_together(uow.conn, [merged])
        stored = await uow.conn.execute(select(H.reference).where(H.reference.like("REF-%")).order_by(H.id))
        assert [r for (r,) in stored] == [row["reference"] for row in rows]


@pytest.mark.parametrize("count", [1, 2, 50])
async def test_a_value_too_long_for_its_column_is_refused_not_cut(tmp_path: Path, count: int) -> None:
    """The arrays of kept rows are of the columns' types without their lengths, so a value longer than its column
    fails the unit as a single row's INSERT does, where an array of VARCHAR(n) would have cut it to fit."""
    too_long = "R" * (H.reference.type.length + 1)
    async with migrated_database("postgres", tmp_path) as db:
        with pytest.raises(DBAPIError, match="too long"):
            async with db.unit() as uow:
                uow.later(_HUB_RESULT, [hub_result_row(f"REF-{i}") for i in range(count - 1)])
                uow.later(_HUB_RESULT, [hub_result_row(too_long)])
        async with db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(pt.hub_results))).scalar_one() == 0


async def test_units_announcing_on_the_same_dossiers_in_any_order_do_not_deadlock(tmp_path: Path) -> None:
    """Each unit takes its dossiers' sequence rows in one order, whatever the order it announced them in: units
    announcing on the same dossiers at once wait for each other and never deadlock (PostgreSQL)."""
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        dossiers = [f"HS-{i}" for i in range(6)]

        async def unit(n: int) -> None:
            order = dossiers[n % 6 :] + dossiers[: n % 6]
            if n % 2:
                order.reverse()
            async with db.unit() as uow:
                for i, dossier in enumerate(order):
                    await announce(uow, portal_id, dossier, n * 10 + i)

        for _ in range(5):
            await asyncio.gather(*(unit(n) for n in range(16)))
        async with db.read() as conn:
            query = select(ot.outbox.c.dossier_code, ot.outbox.c.sequence).order_by(ot.outbox.c.sequence)
            numbers = (await conn.execute(query)).all()
    for dossier in dossiers:
        assert [s for d, s in numbers if d == dossier] == list(range(1, 81))


async def test_a_unit_with_more_than_a_thousand_events_takes_its_dossiers_in_the_same_order(
    tmp_path: Path,
) -> None:
    """A unit with more than 1,000 events takes every dossier's numbers in one statement, in the one order, so it
    waits for a unit holding one of them instead of deadlocking with it. Here B holds HS-A1 and waits
    for HS-A2 (held by C); A then needs HS-A1 and HS-B0 (1,000 events on HS-B0 first); B next needs HS-B0."""
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        held, release = asyncio.Event(), asyncio.Event()

        async def holding_a2() -> None:
            async with db.unit() as uow:
                await announce(uow, portal_id, "HS-A2", 0)
                await uow.flush()
                held.set()
                await release.wait()

        async def unit_b() -> None:
            async with db.unit() as uow:
                for i, dossier in enumerate(["HS-A1", "HS-A2", "HS-B0"]):
                    await announce(uow, portal_id, dossier, i)

        async def unit_a() -> None:
            async with db.unit() as uow:
                for i in range(1_000):
                    await announce(uow, portal_id, "HS-B0", i)
                await announce(uow, portal_id, "HS-A1", 1_000)

        async def waiting(count: int) -> bool:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            async with db.read() as conn:
                return int((await conn.execute(text(query))).scalar_one()) >= count

        c = asyncio.create_task(holding_a2())
        await held.wait()
        b = asyncio.create_task(unit_b())
        await wait_for(lambda: waiting(1), what="B waiting for HS-A2")
        a = asyncio.create_task(unit_a())
        await wait_for(lambda: waiting(2), what="A waiting for HS-A1")
        release.set()
        outcomes = await asyncio.gather(c, b, a, return_exceptions=True)
        assert outcomes == [None, None, None]


async def test_a_dossier_is_found_by_its_code_as_stored(tmp_path: Path) -> None:
    """PostgreSQL stores a code longer than its column by cutting trailing spaces: the event still finds its
    dossier's number, because the lookup casts to the column's type as the store did; the casts are the table's."""
    assert str(ot.dossier_sequences.c.portal_id.type) == "VARCHAR(32)"
    assert str(ot.dossier_sequences.c.dossier_code.type) == "VARCHAR(64)"
    async with migrated_database("postgres", tmp_path) as db:
        portal_id = await a_portal(db)
        async with db.unit() as uow:
            await announce(uow, portal_id, "H" * 64 + "  ", 1)
        async with db.read() as conn:
            stored = (await conn.execute(select(ot.outbox.c.dossier_code, ot.outbox.c.sequence))).all()
    assert [tuple(row) for row in stored] == [("H" * 64, 1)]


async def test_a_units_events_find_their_numbers_by_a_join_not_one_lookup_each(tmp_path: Path) -> None:
    """The events' insert joins the numbers the dossiers took: no subquery run for each event, whose scans of every
    dossier would make a unit's time grow with its events times its dossiers (10,000 events on as many dossiers ran
    past the statement timeout)."""
    async with migrated_database("postgres", tmp_path) as db, db.unit() as uow:
        portal_id = await a_portal(db)
        rows = [
            outbox.event_row(
                portal_id=portal_id,
                dossier_code=f"HS-{i}",
                type="payment.paid",
                resource_type="payment",
                resource_id=f"pay_{i}",
                payload={"i": i},
                now=NOW,
            )
            for i in range(50)
        ]
        sql, arguments = _joined(outbox.events_parts(uow.conn, rows))
        driver = (await uow.conn.get_raw_connection()).driver_connection
        (plan,) = await driver.fetchrow(f"EXPLAIN (FORMAT JSON) {sql}", *arguments)
        nodes = json.dumps(plan)
        assert '"Node Type": "Hash Join"' in nodes and "SubPlan" not in nodes, nodes


async def test_an_events_payload_of_any_json_shape_is_stored_as_given(db: Database) -> None:
    """An event's payload is one JSON value whatever its shape: a list first in a flush, lists of one length, or a
    list then an object are stored as given, not read as the rows of an array."""
    portal_id = await a_portal(db)
    payloads: list[Any] = [["a"], [1, 2], [3, 4], {"k": [[1], [2]]}, [[5, 6]], "s", 7, False, [], {}]
    async with db.unit() as uow:
        for i, payload in enumerate(payloads):
            await announce(uow, portal_id, f"HS-SHAPE-{i % 3}", i, payload)
    async with db.read() as conn:
        query = select(ot.outbox.c.payload).where(ot.outbox.c.dossier_code.like("HS-SHAPE-%"))
        stored = (await conn.execute(query.order_by(ot.outbox.c.position))).scalars().all()
    assert list(stored) == payloads
