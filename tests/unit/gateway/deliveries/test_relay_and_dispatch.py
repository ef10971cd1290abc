"""The worker's use cases on a real SQLite store: the relay's claims (``claim``) and the delivery of a claimed batch
(``Delivery``): in order per dossier, signed, logged, retried, dead-lettered, with the circuit breaker."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import select

from adapters.vntime import now_utc
from gateway import portals
from gateway.deliveries import BatchReport, Delivery, WebhookService, WebhookTools, claim, repository
from gateway.deliveries.relay import ClaimReport
from gateway.settings import Settings
from gateway.store.db import Database
from gateway.store.tables import outbox as ot

from .conftest import URL, Receiver, write_events


async def _configure(hooks: WebhookService, portal_id: str, receiver: Receiver) -> None:
    made, _ = await hooks.configure(portal_id, URL, True)
    receiver.secrets = [str(made.secret)]


async def _relay_once(db: Database, tools: WebhookTools, settings: Settings) -> list[BatchReport]:
    """One relay pass, and each of its jobs run as the worker would."""
    report = await claim(db, settings, now_utc())
    delivery = Delivery(db, tools.http, tools.box, settings)
    return [await delivery.run(c.portal_id, c.token, c.positions) for c in report.chunks]


async def _states(db: Database, portal_id: str, ids: list[str]) -> list[tuple[str, int]]:
    found = []
    async with db.read() as conn:
        for event_id in ids:
            stored = await repository.event_with_state(conn, portal_id, event_id)
            assert stored is not None
            found.append((stored[1].dispatch_state, stored[1].attempts))
    return found


async def test_due_events_are_delivered_signed_in_order_and_logged(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    hooks = WebhookService(db, tools, settings)
    await _configure(hooks, portal_id, receiver)
    ids = await write_events(db, portal_id, ["HS-1", "HS-2", "HS-1", "HS-3"])
    reports = await _relay_once(db, tools, settings)
    assert sum(r.delivered for r in reports) == 4
    assert sorted(receiver.ids) == sorted(ids) and all(verified for _, _, verified in receiver.got)
    assert [body["sequence"] for _, body, _ in receiver.got if body["dossier_code"] == "HS-1"] == [1, 2]
    assert await _states(db, portal_id, ids) == [("delivered", 1)] * 4
    log = await hooks.attempts(portal_id, None, None, 50)
    assert sorted(a.event_id for a in log.data) == sorted(ids) and {a.outcome for a in log.data} == {"delivered"}
    assert await _relay_once(db, tools, settings) == []  # nothing is sent twice


async def test_events_of_a_portal_without_a_webhook_are_skipped(
    db: Database, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    ids = await write_events(db, portal_id, ["HS-1"])
    report = await claim(db, settings, now_utc())
    assert (report.claimed, report.skipped, report.chunks) == (0, 1, [])
    assert await _states(db, portal_id, ids) == [("skipped", 0)]
    assert receiver.got == []


async def test_a_failure_holds_back_its_dossier_is_retried_then_dead_lettered(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    settings = msgspec.structs.replace(
        settings, delivery_retry_schedule="0", delivery_time_scale=0.0, delivery_breaker_threshold=5
    )
    hooks = WebhookService(db, tools, settings)
    await _configure(hooks, portal_id, receiver)
    receiver.status = 500
    ids = await write_events(db, portal_id, ["HS-1", "HS-1"])
    [report] = await _relay_once(db, tools, settings)
    assert (report.failed, report.dead, report.released) == (1, 0, 1)
    assert await _states(db, portal_id, ids) == [("pending", 1), ("pending", 0)]
    [report] = await _relay_once(db, tools, settings)  # the retry is due at once, and is the last attempt
    assert (report.failed, report.dead) == (1, 1)
    assert receiver.ids == [ids[0], ids[0]]  # the second event waited behind the first
    letters = await hooks.dead_letters(portal_id, None, 50)
    found = [(d.event.id, d.delivery.state, d.delivery.last_error) for d in letters.data]
    assert found == [(ids[0], "dead", "HTTP 500")]
    assert await hooks.replay_dead(portal_id, letters.data[0].event.created_at) == 1
    assert await _states(db, portal_id, ids[:1]) == [("pending", 0)]


async def test_the_circuit_opens_at_the_threshold_and_the_rest_is_handed_back(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    hooks = WebhookService(db, tools, settings)
    await _configure(hooks, portal_id, receiver)
    receiver.status = 502
    ids = await write_events(db, portal_id, ["A", "B", "C", "D"])
    [report] = await _relay_once(db, tools, settings)
    assert report.circuit_opened and (report.failed, report.released) == (2, 2)
    shown = await hooks.show(portal_id)
    assert shown.circuit.state == "open" and shown.circuit.consecutive_failures == 2
    assert await _relay_once(db, tools, settings) == []  # an open circuit is not called
    assert receiver.ids == ids[:2]
    assert await _states(db, portal_id, ids) == [("pending", 1), ("pending", 1), ("pending", 0), ("pending", 0)]


async def test_a_job_started_late_sends_nothing_it_could_not_finish_within_its_claim(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    """A job started long after its claim (its worker killed, a backlog) hands its events back rather than send
    them while the relay may give them to another job."""
    await _configure(WebhookService(db, tools, settings), portal_id, receiver)
    ids = await write_events(db, portal_id, ["HS-1", "HS-2"])
    claimed_at = now_utc()
    report = await claim(db, settings, claimed_at)
    too_late = claimed_at + timedelta(seconds=settings.delivery_lease_seconds - settings.webhook_timeout_seconds)
    late = Delivery(db, tools.http, tools.box, settings, clock=lambda: too_late)
    reports = [await late.run(c.portal_id, c.token, c.positions) for c in report.chunks]
    assert (sum(r.delivered for r in reports), sum(r.released for r in reports)) == (0, 2)
    assert receiver.ids == [] and await _states(db, portal_id, ids) == [("pending", 0)] * 2
    in_time = Delivery(db, tools.http, tools.box, settings)
    again = await claim(db, settings, now_utc())
    assert sum([(await in_time.run(c.portal_id, c.token, c.positions)).delivered for c in again.chunks]) == 2


async def test_a_portals_next_batch_is_claimed_for_it_alone_in_order_within_its_cap(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    """One portal's cap is 2 jobs × 3 events. After a batch is delivered whole, the claim for that portal takes its
    next batch: no more than the cap in flight, no event of a dossier whose earlier event is still leased, and
    never another portal's events."""
    settings = msgspec.structs.replace(settings, delivery_batch_size=3, delivery_portal_jobs=2)
    await _configure(WebhookService(db, tools, settings), portal_id, receiver)
    other, _ = await portals.create_portal(db, "Cổng khác")
    assert await portals.set_private_webhooks(db, other, True)
    await _configure(WebhookService(db, tools, settings), other, receiver)
    ids = await write_events(db, portal_id, [f"HS-{i % 4}" for i in range(12)])
    await write_events(db, other, [f"HK-{i}" for i in range(6)])
    first = await claim(db, settings, now_utc())
    assert first.claimed == 12  # each portal its cap
    mine = [c for c in first.chunks if c.portal_id == portal_id]
    delivery = Delivery(db, tools.http, tools.box, settings)
    report = await delivery.run(portal_id, mine[0].token, mine[0].positions)
    assert report.whole and report.delivered == len(mine[0].positions)

    following = await claim(db, settings, now_utc(), portal_id=portal_id)
    assert {c.portal_id for c in following.chunks} == {portal_id}
    assert 0 < following.claimed <= 3 and len(following.chunks) == 1
    token = following.chunks[0].token
    states = await _states_by_dossier(db, portal_id)
    assert sum(1 for _, lease, _ in states.values() if lease) <= 6, "the portal's cap"
    for (code, sequence), (_, lease, _) in states.items():
        if lease == token:  # every earlier event of its dossier is delivered, or in this batch
            assert all(states[(code, n)][0] == "delivered" or states[(code, n)][1] == token for n in range(1, sequence))
    assert await claim(db, settings, now_utc(), portal_id=portal_id) == ClaimReport([], 0, 0, False), "at its cap"
    assert len(ids) == 12


async def _states_by_dossier(db: Database, portal_id: str) -> dict[tuple[str, int], tuple[str, str | None, int]]:
    """(dossier, sequence) → (state, lease token, position) of the portal's events."""
    o = ot.outbox.c
    async with db.read() as conn:
        query = select(o.dossier_code, o.sequence, o.dispatch_state, o.claim_token, o.position).where(
            o.portal_id == portal_id
        )
        return {(c, n): (state, token, p) for c, n, state, token, p in await conn.execute(query)}


async def test_a_batch_with_a_failure_is_not_whole(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    settings = msgspec.structs.replace(settings, delivery_batch_size=2, delivery_portal_jobs=1)
    await _configure(WebhookService(db, tools, settings), portal_id, receiver)
    receiver.status = 503
    ids = await write_events(db, portal_id, ["A", "B", "C"])
    [report] = await _relay_once(db, tools, settings)
    assert (report.whole, report.failed, report.delivered) == (False, 2, 0)
    assert receiver.ids == ids[:2]
