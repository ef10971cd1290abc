"""Events from the real sandbox: the feed with its cursor, the signed push with retries, COD statements."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.postal.client import PostalClient
from adapters.postal.errors import PostalProtocolError
from adapters.postal.messages import StatusEvent
from tests.support.postal_sandbox import Control, Receiver

from .test_postal_client_sandbox import parcel


async def read_all(client: PostalClient, cursor: int, page_size: int) -> tuple[list[StatusEvent], int, int]:
    events: list[StatusEvent] = []
    pages = 0
    while True:
        page = await client.tracking(cursor, page_size)
        pages += 1
        assert page.last_id >= cursor
        if not page.events:
            return events, cursor, pages
        events.extend(page.events)
        cursor = page.last_id


async def test_the_feed_pages_through_every_event_once(client: PostalClient, control: Control) -> None:
    start = (await client.tracking(0)).last_id  # ids keep counting across resets
    ids = []
    for n in range(3):
        created = await client.create_order(parcel(f"SHP-F{n}"))
        ids.append(created.originalId)
        await control.advance(created.originalId, scenario="deliver")
    events, cursor, pages = await read_all(client, start, page_size=4)
    assert len(events) == 3 * 9 and pages == 8
    assert [e.event_id for e in events] == sorted({e.event_id for e in events if e.event_id})
    for original_id in ids:
        assert [e.code for e in events if e.original_id == original_id] == [1, 2, 4, 6, 7, 10, 11, 12, 14]
    assert (await client.tracking(cursor)).events == ()  # nothing new after the cursor


async def test_feed_faults_repeat_reorder_and_a_malformed_page(client: PostalClient, control: Control) -> None:
    created = await client.create_order(parcel("SHP-F9"))
    cursor = (await client.tracking(0)).last_id
    await control.faults(feed={"repeat": True, "reorder": True})
    await control.advance(created.originalId, to=6)  # 2, 4, 6 logged newest first
    page = await client.tracking(cursor)
    assert page.events[0].event_id == cursor  # the event at the cursor comes again
    fresh = [e for e in page.events if e.event_id and e.event_id > cursor]
    assert [e.code for e in fresh] == [6, 4, 2]  # increasing ids, decreasing times
    assert fresh[0].time > fresh[-1].time

    await control.faults(feed={"repeat": False, "corrupt": 1})
    with pytest.raises(PostalProtocolError):
        await client.tracking(page.last_id)
    assert (await client.tracking(page.last_id)).last_id == page.last_id  # the cursor did not move


async def test_the_push_is_signed_and_retried_until_accepted(
    client: PostalClient, control: Control, receiver: Receiver
) -> None:
    receiver.fail_next = 2
    created = await client.create_order(parcel("SHP-W1"))
    receiver.wait_for(lambda r: len(r.accepted) == 1)
    assert receiver.failed == 2 and receiver.rejected == []
    assert receiver.accepted[0]["originalId"] == created.originalId and receiver.accepted[0]["status"] == 1
    attempts = await control.attempts_until(lambda found: found[-1]["httpStatus"] is not None)
    assert all(a["originalId"] == created.originalId for a in attempts)
    assert [a["httpStatus"] for a in attempts] == [500, 500, 200]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]


async def test_push_faults_repeat_reorder_drop_and_bad_signature(
    client: PostalClient, control: Control, receiver: Receiver
) -> None:
    created = await client.create_order(parcel("SHP-W2"))
    receiver.wait_for(lambda r: len(r.accepted) == 1)

    await control.faults(webhook={"repeat": 1, "reorder": True})
    await control.advance(created.originalId, to=4)  # 2 then 4, pushed newest first, each twice
    receiver.wait_for(lambda r: len(r.accepted) == 5)
    assert [e["status"] for e in receiver.accepted[1:]] == [4, 4, 2, 2]

    await control.faults(webhook={"repeat": 0, "reorder": False, "drop": 1})
    await control.advance(created.originalId, to=7)  # 6 is dropped, 7 arrives
    receiver.wait_for(lambda r: len(r.accepted) == 6)
    assert receiver.accepted[-1]["status"] == 7

    await control.faults(webhook={"bad_signature": True})
    await control.advance(created.originalId, to=10)
    receiver.wait_for(lambda r: len(r.rejected) == 11)  # the first try and its 10 retries
    assert set(receiver.rejected) == {"bad_signature"}
    assert len(receiver.accepted) == 6


async def test_the_cod_statement_lists_what_was_really_collected(
    client: PostalClient, control: Control
) -> None:
    await control.clock("2025-08-01T09:00:00+07:00")
    delivered_a = await client.create_order(parcel("SHP-COD-A", cod=150_000))
    delivered_b = await client.create_order(parcel("SHP-COD-B", cod=2_500_000))
    returned = await client.create_order(parcel("SHP-COD-C", cod=90_000))
    no_cod = await client.create_order(parcel("SHP-COD-D"))
    for created, scenario in ((delivered_a, "deliver"), (delivered_b, "fail_then_deliver"),
                              (returned, "return"), (no_cod, "deliver")):
        await control.advance(created.originalId, scenario=scenario)
    await control.clock("2025-08-02T08:00:00+07:00")

    statement = await client.cod_statement(date(2025, 8, 1))
    assert {line.item_code for line in statement.lines} == {delivered_a.itemCode, delivered_b.itemCode}
    assert statement.total_cod == 2_650_000
    assert statement.total_fee == sum(line.fee for line in statement.lines) == 10_000 + 20_000
    assert statement.total_remitted == statement.total_cod - statement.total_fee
    assert (await client.cod_statement(date(2025, 7, 31))).lines == ()
    # the day is closed, so the post has remitted: both orders moved to 21, and only once
    await client.cod_statement(date(2025, 8, 1))
    for created in (delivered_a, delivered_b):
        history = (await client.get_order(created.originalId)).history
        assert [h.code for h in history][-2:] == [14, 21]
