"""Properties of recording the post's events in the real store (SQLite and PostgreSQL, migrated): whatever the
arrival order, the repeats and the batches (webhook one by one, feed pages, order history), each event is recorded
once, the timeline is in the order things happened, the shipment ends where the in-order events take it and never moved
backwards on the way, and a COD delivery is collected once."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.postal import StatusEvent
from adapters.postal.codes import RANK, STATUSES, ShipmentState, state_of
from adapters.vntime import now_utc
from gateway.shipments import tracking
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.tables import outbox as ot
from gateway.store.tables import portals as ct
from gateway.store.tables import shipments as sh
from tests.support.services import create_pg_database, drop_pg_database

from .test_shipment_rules import SCENARIOS, fold

START = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated store with a portal and an agency, on each engine: on PostgreSQL a pushed event is recorded in a
    checked unit, on SQLite under the write lock."""
    pg = request.param == "postgres"
    folder = Path(tmp_path_factory.mktemp("events"))
    url = asyncio.run(create_pg_database()) if pg else f"sqlite+aiosqlite:///{folder / 'events.db'}"

    async def seed() -> None:
        db = Database.from_url(url)
        now = now_utc()
        async with db.transaction() as tx:
            await tx.execute(ct.portals.insert().values(id="ptl_1", name="Cổng", created_at=now))
            await tx.execute(
                ct.agencies.insert().values(
                    id="agy_1",
                    code="A1",
                    name="UBND",
                    tax_code="0101234567",
                    address="1 Phố",
                    treasury_account="1",
                    treasury_bank_code="K",
                    treasury_account_name="UBND",
                    created_at=now,
                )
            )
        await db.dispose()

    try:
        upgrade(url)
        asyncio.run(seed())
        yield url
    finally:
        if pg:
            asyncio.run(drop_pg_database(url))


def shipment_row(shipment_id: str, cod: int) -> dict[str, object]:
    now = now_utc()
    row: dict[str, object] = {
        "id": shipment_id,
        "portal_id": "ptl_1",
        "agency_id": "agy_1",
        "dossier_code": f"D-{shipment_id}",
        "direction": "deliver_result",
        "status": "created",
        "status_code": 1,
        "service_code": "HCC",
        "weight_grams": 300,
        "cod_amount": cod,
        "citizen_name": "An",
        "citizen_phone": "0912345678",
        "agency_name": "UBND",
        "agency_phone": "02438253536",
        "original_id": f"OD-{shipment_id}",
        "item_code": "EB100000003VN",
        "postage": 16_500,
        "created_at": now,
        "updated_at": now,
    }
    for side in ("citizen", "agency"):
        row.update(
            {
                f"{side}_street": "1 Phố",
                f"{side}_province_code": "01",
                f"{side}_province_name": "Hà Nội",
                f"{side}_commune_code": "00070",
                f"{side}_commune_name": "Hoàn Kiếm",
                f"{side}_admin_version": "2025-07",
            }
        )
    return row


async def new_shipment(db: Database, cod: int) -> str:
    shipment_id = f"shp_{secrets.token_hex(8)}"
    async with db.transaction() as tx:
        await tx.execute(sh.shipments.insert().values(**shipment_row(shipment_id, cod)))
    return shipment_id


def events(shipment_id: str, codes: tuple[int, ...], cod: int) -> list[StatusEvent]:
    return [
        StatusEvent(
            original_id=f"OD-{shipment_id}",
            item_code="EB100000003VN",
            sale_order_code=shipment_id,
            code=code,
            text=STATUSES[code].name_vi,
            state=state_of(code),
            time=START + timedelta(seconds=n),
            cod_amount=cod,
            event_id=n + 1,
        )
        for n, code in enumerate(codes)
    ]


@contextlib.contextmanager
def units_noted(monkeypatch: pytest.MonkeyPatch, seen: list[bool]) -> Iterator[None]:
    """While within, whether each unit ``tracking.record_in`` runs in is a checked one, added to ``seen`` in turn."""
    real = tracking.record_in

    async def noting(uow, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(uow.checked)
        return await real(uow, *args, **kwargs)

    monkeypatch.setattr(tracking, "record_in", noting)
    try:
        yield
    finally:
        monkeypatch.setattr(tracking, "record_in", real)


async def stored(conn, shipment_id: str) -> tuple[str, list[int]]:  # type: ignore[no-untyped-def]
    """The shipment's status and the post's codes on its timeline, as stored."""
    status = (await conn.execute(select(sh.shipments.c.status).where(sh.shipments.c.id == shipment_id))).scalar_one()
    codes = await conn.execute(
        select(sh.shipment_events.c.raw_code).where(sh.shipment_events.c.shipment_id == shipment_id)
    )
    return status, list(codes.scalars())


async def status_changes(conn, shipment_id: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """The payloads of the shipment's ``shipment.status_changed`` events, in the order announced."""
    query = (
        select(ot.outbox.c.payload)
        .where(ot.outbox.c.resource_id == shipment_id, ot.outbox.c.type == "shipment.status_changed")
        .order_by(ot.outbox.c.sequence)
    )
    return list((await conn.execute(query)).scalars())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(SCENARIOS)),
    cod=st.sampled_from([0, 150_000]),
    rnd=st.randoms(use_true_random=False),
    repeats=st.integers(0, 6),
    batches=st.integers(1, 5),
)
@example(name="cod_remitted", cod=150_000, rnd=random.Random(0), repeats=0, batches=1)  # 14 then 21 in one page
def test_any_arrival_gives_one_timeline_and_the_in_order_status(
    database_url: str,
    name: str,
    cod: int,
    rnd,
    repeats: int,
    batches: int,  # type: ignore[no-untyped-def]
) -> None:
    asyncio.run(_check(database_url, name, cod, rnd, repeats, batches))


async def _check(url: str, name: str, cod: int, rnd, repeats: int, batches: int) -> None:  # type: ignore[no-untyped-def]
    db = Database.from_url(url)
    try:
        shipment_id = await new_shipment(db, cod)
        happened = events(shipment_id, SCENARIOS[name], cod)
        arrived = happened + [rnd.choice(happened) for _ in range(repeats)]
        rnd.shuffle(arrived)
        cuts = sorted(rnd.sample(range(1, len(arrived)), min(batches - 1, len(arrived) - 1)))
        total = tracking.Tally()
        for start, end in zip([0, *cuts], [*cuts, len(arrived)], strict=True):
            total.add(await tracking.record(db, arrived[start:end], rnd.choice(["webhook", "feed", "order"])))
        assert (total.recorded, total.duplicates, total.unknown) == (len(happened), repeats, 0)

        async with db.read() as conn:
            shipment = (await conn.execute(select(sh.shipments).where(sh.shipments.c.id == shipment_id))).one()
            timeline = (
                (
                    await conn.execute(
                        select(sh.shipment_events.c.raw_code)
                        .where(sh.shipment_events.c.shipment_id == shipment_id)
                        .order_by(sh.shipment_events.c.occurred_at, sh.shipment_events.c.id)
                    )
                )
                .scalars()
                .all()
            )
            changes = await status_changes(conn, shipment_id)
            collections = (
                await conn.execute(select(sh.cod_collections).where(sh.cod_collections.c.shipment_id == shipment_id))
            ).all()
            announced = (
                await conn.execute(
                    select(ot.outbox.c.type, ot.outbox.c.payload)
                    .where(ot.outbox.c.resource_id == shipment_id)
                    .order_by(ot.outbox.c.sequence)
                )
            ).all()
        assert list(timeline) == list(SCENARIOS[name])
        expected = fold("created", happened)
        assert shipment.status == expected
        ranks = [RANK[ShipmentState(c["status"])] for c in changes]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
        delivered = 14 in SCENARIOS[name]
        assert len(collections) == (1 if delivered and cod else 0)
        if collections:
            assert (
                collections[0].amount == cod and collections[0].collected_at == happened[SCENARIOS[name].index(14)].time
            )
        types = [kind for kind, _ in announced]
        if "shipment.cod_collected" in types:  # every snapshot written after the collection carries it
            after = announced[types.index("shipment.cod_collected") :]
            assert all(payload["cod_collection"] is not None for _, payload in after), types
    finally:
        await db.dispose()


def test_an_event_for_another_order_is_not_recorded(database_url: str) -> None:
    async def go() -> None:
        db = Database.from_url(database_url)
        try:
            shipment_id = await new_shipment(db, 0)
            stray = events(shipment_id, (2,), 0)[0]
            foreign = StatusEvent(**{**stray.__dict__, "original_id": "OD-someone-else"})
            unknown = StatusEvent(**{**stray.__dict__, "sale_order_code": "", "original_id": "OD-nobody"})
            tally = await tracking.record(db, [foreign, unknown], "webhook")
            assert (tally.recorded, tally.unknown) == (0, 2)
            async with db.read() as conn:
                stored = await conn.execute(
                    select(sh.shipment_events).where(sh.shipment_events.c.shipment_id == shipment_id)
                )
                assert stored.all() == []
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("booked", "reported", "units", "outcome"),
    [
        (0, 0, [True], (1, 0, 0)),  # nothing to collect: a checked unit, as any other pushed event
        (150_000, 150_000, [False], (1, 1, 0)),  # an amount reported: under the lock from the start
        (150_000, 0, [True, False], (1, 0, 1)),  # booked with COD, none reported: known once read, then locked
    ],
)
def test_a_pushed_delivery_is_recorded_without_a_lock_unless_its_cod_is_collected_or_held(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    booked: int,
    reported: int,
    units: list[bool],
    outcome: tuple[int, int, int],
) -> None:
    """A delivery pushed alone takes the checked unit (PostgreSQL) unless it collects or holds COD, whose rows are
    written at once and read back under the shipment's lock; one whose shipment turns out, once read, to be booked
    with COD is done again under the lock, having written nothing. Either way it is recorded once."""
    seen: list[bool] = []

    async def go() -> None:
        db = Database.from_url(database_url)
        try:
            shipment_id = await new_shipment(db, booked)
            [delivered] = events(shipment_id, (14,), reported)
            assert delivered.state == ShipmentState.DELIVERED
            with units_noted(monkeypatch, seen):
                tally = await tracking.record(db, [delivered], "webhook")
            assert (tally.recorded, tally.cod_collected, tally.cod_held) == outcome
            async with db.read() as conn:
                status, recorded = await stored(conn, shipment_id)
                assert [s["status"] for s in await status_changes(conn, shipment_id)] == ["delivered"]
            assert status == "delivered" and recorded == [14]
        finally:
            await db.dispose()

    asyncio.run(go())
    pg = not database_url.startswith("sqlite")
    assert seen == (units if pg else [False])


def test_a_repeated_delivery_and_one_for_no_shipment_of_ours_need_no_lock(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery pushed again, of a shipment booked with COD, is a repeat once read: it is answered as one from the
    checked unit, with no second reading under the lock, and holds nothing twice; a delivery for no shipment of
    ours is unknown, from the checked unit too."""
    seen: list[bool] = []

    async def go() -> None:
        db = Database.from_url(database_url)
        try:
            shipment_id = await new_shipment(db, 150_000)
            [delivered] = events(shipment_id, (14,), 0)
            first = await tracking.record(db, [delivered], "webhook")
            stray = StatusEvent(**{**delivered.__dict__, "sale_order_code": "shp_none", "original_id": "OD-none"})
            with units_noted(monkeypatch, seen):
                again = await tracking.record(db, [delivered], "feed")
                unknown = await tracking.record(db, [stray], "webhook")
            assert (first.recorded, first.cod_held) == (1, 1)
            assert (again.recorded, again.duplicates, again.cod_held) == (0, 1, 0)
            assert (unknown.recorded, unknown.unknown) == (0, 1)
            async with db.read() as conn:
                _, recorded = await stored(conn, shipment_id)
            assert recorded == [14]
        finally:
            await db.dispose()

    asyncio.run(go())
    pg = not database_url.startswith("sqlite")
    assert seen == ([True, True] if pg else [False, False])


@pytest.mark.parametrize("name", ["return", "cod_remitted"])
def test_events_pushed_at_once_are_each_recorded_once_and_move_the_shipment_in_turn(
    database_url: str, name: str
) -> None:
    """The post pushes every event of a parcel three times, all at once (on PostgreSQL, checked units racing each
    other and the delivery's locked unit): each event is recorded once, the shipment ends where the in-order events
    take it, and each announced move starts from the status the one before it ended in (no move decided on a
    status another had changed meanwhile)."""

    async def go() -> None:
        db = Database.from_url(database_url)
        try:
            shipment_id = await new_shipment(db, 150_000)
            happened = events(shipment_id, SCENARIOS[name], 150_000)
            pushed = [event for event in happened for _ in range(3)]
            random.Random(name).shuffle(pushed)
            tallies = await asyncio.gather(*(tracking.record(db, [event], "webhook") for event in pushed))
            assert sum(t.recorded for t in tallies) == len(happened)
            assert sum(t.duplicates for t in tallies) == 2 * len(happened)
            assert sum(t.cod_collected for t in tallies) == (1 if 14 in SCENARIOS[name] else 0)
            async with db.read() as conn:
                status, recorded = await stored(conn, shipment_id)
                changes = await status_changes(conn, shipment_id)
            assert sorted(recorded) == sorted(SCENARIOS[name])
            assert status == fold("created", happened)
            assert changes and changes[-1]["status"] == status
            froms = [change["previous_status"] for change in changes]
            assert froms == ["created", *(change["status"] for change in changes[:-1])]
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.mark.parametrize("meanwhile", ["moved", "booked", "touched"])
def test_a_pushed_event_whose_shipment_changed_after_its_reading_is_read_again(
    database_url: str, meanwhile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between a pushed event's reading of its shipment and its write, another unit changes the shipment under its
    lock: moves it, records the post's answer to its booking, or marks it changed (a COD report, a receipt linked).
    On PostgreSQL the write finds the shipment no longer as read and writes nothing; the event is read again and
    recorded once, and the snapshot it announces shows what the other unit wrote. On SQLite the unit holds the
    write lock, so nothing changes meanwhile and the event is read once."""
    from gateway.shipments import repository

    real = repository.for_change
    readings: list[str] = []
    changing: list[bool] = []

    async def reading_then_changed(uow, shipment_ids, keys):  # type: ignore[no-untyped-def]
        found = await real(uow, shipment_ids, keys)
        if changing:  # the other unit's own reading
            return found
        readings.append(next(iter(found[0].values())).status)
        if uow.checked and len(readings) == 1:
            changing.append(True)
            async with db.unit() as other:
                [locked] = (await repository.lock(other.conn, [shipment_id])).values()
                if meanwhile == "moved":
                    picked_up = events(shipment_id, (6,), 0)[0]  # picked up, a rank above the pushed event's
                    await tracking.record_in(other, [picked_up], "feed", now_utc())
                elif meanwhile == "booked":
                    await repository.set_values(other.conn, shipment_id, {"postage": 22_000}, now_utc())
                else:
                    await repository.touch(other.conn, shipment_id, now_utc())
                assert locked.status == "created"
            changing.clear()
        return found

    async def go() -> None:
        await seeded()
        monkeypatch.setattr(repository, "for_change", reading_then_changed)
        pushed = events(shipment_id, (2,), 0)[0]  # a pickup scheduled: moves a created shipment
        tally = await tracking.record(db, [pushed], "webhook")
        async with db.read() as conn:
            status, postage = (
                await conn.execute(
                    select(sh.shipments.c.status, sh.shipments.c.postage).where(sh.shipments.c.id == shipment_id)
                )
            ).one()
            changes = await status_changes(conn, shipment_id)
            timeline = (
                await conn.execute(
                    select(sh.shipment_events.c.raw_code, sh.shipment_events.c.applied).where(
                        sh.shipment_events.c.shipment_id == shipment_id
                    )
                )
            ).all()
        await db.dispose()
        pg = not database_url.startswith("sqlite")
        assert tally.recorded == 1 and sorted(code for code, _ in timeline).count(2) == 1
        if not pg:
            assert readings == ["created"] and status == "pickup_scheduled"
            return
        if meanwhile == "moved":  # read again as picked up: the pushed event is kept and moves nothing
            assert readings == ["created", "picked_up"] and status == "picked_up"
            assert dict(timeline) == {6: True, 2: False} and [c["status"] for c in changes] == ["picked_up"]
            return
        assert readings == ["created", "created"] and status == "pickup_scheduled"
        assert [c["previous_status"] for c in changes] == ["created"]
        if meanwhile == "booked":
            assert postage == 22_000 and changes[-1]["postage"] == 22_000

    shipment_id = f"shp_{secrets.token_hex(8)}"
    db = Database.from_url(database_url)

    async def seeded() -> None:
        async with db.transaction() as tx:
            await tx.execute(sh.shipments.insert().values(**shipment_row(shipment_id, 0)))

    asyncio.run(go())


def test_an_event_giving_a_shipment_another_shipments_post_id_is_not_recorded(database_url: str) -> None:
    """A shipment whose booking answer never reached us takes the post's id from its first event; an event that
    would give it the id another shipment holds is for no shipment of ours: nothing is recorded or moved, where the
    id's uniqueness once made the push fail (and the post push it again) for ever."""

    async def go() -> None:
        db = Database.from_url(database_url)
        try:
            holder = await new_shipment(db, 0)
            unanswered = await new_shipment(db, 0)
            async with db.transaction() as tx:
                await tx.execute(sh.shipments.update().where(sh.shipments.c.id == unanswered).values(original_id=None))
            event = events(unanswered, (2,), 0)[0]
            forged = StatusEvent(**{**event.__dict__, "original_id": f"OD-{holder}"})
            tally = await tracking.record(db, [forged], "webhook")
            assert (tally.recorded, tally.unknown) == (0, 1)
            page = await tracking.record(db, [forged, events(holder, (2,), 0)[0]], "feed")
            assert (page.recorded, page.unknown) == (1, 1)
            async with db.read() as conn:
                status, original = (
                    await conn.execute(
                        select(sh.shipments.c.status, sh.shipments.c.original_id).where(sh.shipments.c.id == unanswered)
                    )
                ).one()
                recorded = (
                    await conn.execute(
                        select(sh.shipment_events.c.id).where(sh.shipment_events.c.shipment_id == unanswered)
                    )
                ).all()
            assert (status, original, recorded) == ("created", None, [])
        finally:
            await db.dispose()

    asyncio.run(go())
