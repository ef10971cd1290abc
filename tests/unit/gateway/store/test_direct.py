"""Statements run straight on asyncpg (``store/direct.py``) behave as the same statements through SQLAlchemy: in the
unit of work's transaction, with SQLAlchemy's errors, and a lost connection answered as unavailable and replaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import JSON, BigInteger, Column, MetaData, String, Table, bindparam, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from gateway.store import dialect
from gateway.store.db import Database, DatabaseUnavailable
from gateway.store.direct import Direct, insert_rows
from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from gateway.store.tables import portals as ct
from gateway.store.types import UTCDateTime
from tests.support.services import migrated_database, wait_for
from tests.support.store_rows import RECEIVED_AT, hub_result_row

H = pt.hub_results.c
_INSERT = Direct(pt.hub_results.insert())
_BY_REFERENCE = Direct(select(H.reference, H.amount, H.received_at).where(H.reference == bindparam("reference")))
_RENAME = Direct(pt.hub_results.update().where(H.reference == bindparam("b_reference")))
NOW = RECEIVED_AT


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database("postgres", tmp_path) as database:
        yield database


async def test_rows_and_changes_are_those_sqlalchemy_gives(db: Database) -> None:
    async with db.unit() as uow:
        assert await _INSERT.change(uow.conn, hub_result_row("R1")) == 1
        await _INSERT.change_many(uow.conn, [hub_result_row("R2", None), hub_result_row("R3")])
        assert await _RENAME.change(uow.conn, {"b_reference": "R3", "reference": "R4"}) == 1
        [row] = await _BY_REFERENCE.rows(uow.conn, {"reference": "R1"})
    assert dict(row) == {"reference": "R1", "amount": 150_000, "received_at": NOW}
    assert row["received_at"].tzinfo is UTC  # the column type's result processing
    async with db.read() as conn:
        found = (await conn.execute(select(H.reference, H.amount).order_by(H.reference))).all()
    assert [tuple(x) for x in found] == [("R1", 150_000), ("R2", None), ("R4", 150_000)]


async def test_a_direct_statement_first_in_a_unit_is_inside_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit() as uow:
            await _INSERT.change(uow.conn, hub_result_row("R1"))  # the unit's first statement
            raise RuntimeError("roll back")
    async with db.read() as conn:
        assert (await conn.execute(select(H.reference))).all() == []


async def test_errors_are_sqlalchemys(db: Database) -> None:
    async with db.unit() as uow:
        await uow.conn.execute(text("CREATE TABLE once (id INTEGER PRIMARY KEY)"))
    once = Direct(text("INSERT INTO once (id) VALUES (:id)"))
    async with db.single_statement() as conn:
        await once.change(conn, {"id": 1})
    with pytest.raises(IntegrityError):
        async with db.single_statement() as conn:
            await once.change(conn, {"id": 1})


@pytest.mark.postgres
async def test_a_lost_connection_is_unavailable_and_replaced(pg: Database) -> None:
    db = pg
    async with db.unit() as uow:
        await _INSERT.change(uow.conn, hub_result_row("R1"))
    with pytest.raises(DatabaseUnavailable):
        async with db.unit() as uow:
            pid = (await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with db.single_statement() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await _BY_REFERENCE.rows(uow.conn, {"reference": "R1"})
    async with db.unit() as uow:  # at once: the pool gave a working connection
        [row] = await _BY_REFERENCE.rows(uow.conn, {"reference": "R1"})
    assert row["amount"] == 150_000


@pytest.mark.postgres
async def test_a_pooled_connection_the_server_closed_is_replaced_alone(pg: Database) -> None:
    """A database that closes one idle connection (its idle_session_timeout, a proxy) costs that connection only:
    the next request gets a working one, and the pool's other connections stay."""
    db = pg

    async def pid_of(conn: object) -> int:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[attr-defined]

    async with db.read() as one, db.read() as two:
        closed, kept = await pid_of(one), await pid_of(two)
        driver = (await one.get_raw_connection()).driver_connection
    async with db.single_statement() as other:  # a third connection, so neither pooled one is in use
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": closed})
    await wait_for(driver.is_closed, timeout=10, what="the driver to hear the server hang up")
    async with db.read() as one, db.read() as two, db.read() as three:
        now = {await pid_of(one), await pid_of(two), await pid_of(three)}
    assert closed not in now and kept in now, "the closed connection alone was replaced"


_BULK = Table(
    "bulk_rows",
    MetaData(),
    Column("id", String(16), primary_key=True),
    Column("amount", BigInteger()),
    Column("facts", JSON(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("note", String(64), nullable=False, server_default="none"),
)


async def _bulk_table(db: Database) -> None:
    async with db.unit() as uow:
        await uow.conn.run_sync(lambda sync: _BULK.create(sync))


async def test_inserted_rows_read_back_as_sqlalchemy_wrote_them(db: Database) -> None:
    await _bulk_table(db)
    rows = [
        {"id": "A", "amount": 150_000, "facts": {"line": 2, "tên": "Việt", "nested": [1, None]}, "at": NOW},
        {"id": "B", "amount": None, "facts": {}, "at": NOW.replace(microsecond=123_456)},
    ]
    async with db.unit() as uow:
        await insert_rows(uow.conn, _BULK, rows)
    async with db.read() as conn:
        found = [dict(r._mapping) for r in await conn.execute(select(_BULK).order_by(_BULK.c.id))]
    assert found == [{**row, "note": "none"} for row in rows]  # left out: the server's default
    assert found[1]["at"].tzinfo is UTC


async def test_inserted_rows_go_with_the_unit_and_a_clash_is_sqlalchemys_error(db: Database) -> None:
    await _bulk_table(db)
    row = {"id": "A", "amount": 1, "facts": {}, "at": NOW}
    with pytest.raises(RuntimeError):
        async with db.unit() as uow:
            await insert_rows(uow.conn, _BULK, [row])
            raise RuntimeError("roll back")
    with pytest.raises(IntegrityError):
        async with db.unit() as uow:
            await insert_rows(uow.conn, _BULK, [row, {**row, "amount": 2}])
    async with db.read() as conn:
        assert (await conn.execute(select(_BULK.c.id))).all() == []


async def test_rows_naming_other_columns_or_bad_values_are_refused_and_write_nothing(db: Database) -> None:
    await _bulk_table(db)
    row = {"id": "A", "amount": 1, "facts": {}, "at": NOW}
    with pytest.raises(ValueError, match="same columns"):
        async with db.unit() as uow:
            await insert_rows(uow.conn, _BULK, [row, {"id": "B", "facts": {}, "at": NOW}])
    with pytest.raises(StatementError):  # a naive time: the column type's own refusal, as SQLAlchemy raises it
        async with db.unit() as uow:
            await insert_rows(uow.conn, _BULK, [row, {**row, "id": "B", "at": NOW.replace(tzinfo=None)}])
    async with db.read() as conn:
        assert (await conn.execute(select(_BULK.c.id))).all() == []


async def test_a_column_whose_default_sqlalchemy_computes_must_be_given(db: Database) -> None:
    table = Table("computed_rows", MetaData(), Column("id", String(16), primary_key=True),
                  Column("made", String(16), default=lambda: "by python"))
    async with db.unit() as uow:
        await uow.conn.run_sync(lambda sync: table.create(sync))
    with pytest.raises(ValueError, match="made"):
        async with db.unit() as uow:
            await insert_rows(uow.conn, table, [{"id": "A"}])


async def test_one_of_ids_does_not_cut_an_id_longer_than_its_column(db: Database) -> None:
    """A list of ids is compared whole: an id longer than the column is not cut to the column's length (on
    PostgreSQL a cast to VARCHAR(32)[] would cut it, and the cut id would match another)."""
    portals = ct.portals
    one_of = dialect.OneOf(lambda is_one_of: select(portals.c.id).where(is_one_of(portals.c.id)))
    stored = "p" * 32
    async with db.transaction() as tx:
        await tx.execute(portals.insert(), {"id": stored, "name": "x", "created_at": RECEIVED_AT})
        found = await one_of.on(tx).rows(tx, {"ids": [stored + "-and-more"]})
        exact = await one_of.on(tx).rows(tx, {"ids": [stored]})
    assert (found, [row["id"] for row in exact]) == ([], [stored])


async def test_a_statement_with_a_parameter_of_a_type_without_a_name_in_sql_runs(db: Database) -> None:
    """A JSON subscript's parameter has a type SQLAlchemy cannot name in DDL: a statement with one still runs (only an
    INSERT whose rows could go as arrays needs its parameters' names)."""
    payload = ot.outbox.c.payload
    by_key = Direct(select(ot.outbox.c.id).where(payload["i"].as_string() == bindparam("i")))
    async with db.read() as conn:
        assert await by_key.rows(conn, {"i": "1"}) == []
