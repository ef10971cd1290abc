"""The worker's use cases on a real SQLite store: the relay's claims (``claim``) and the delivery of a claimed batch
(``Delivery``): in order per dossier, signed, logged, retried, dead-lettered, with the circuit breaker."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta

import msgspec

from adapters.vntime import now_utc
from gateway.deliveries import BatchReport, Delivery, WebhookService, WebhookTools, claim, repository
from gateway.settings import Settings
from gateway.store.db import Database

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


async def test_a_job_sent_whole_carries_on_with_its_portals_backlog_in_order_within_the_cap(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    """One portal's cap is 2 jobs × 3 events: 20 events of 4 dossiers drain in one relay pass, each job taking its
    portal's next batch itself, each dossier in sequence order, never more than the cap leased at once."""
    settings = msgspec.structs.replace(settings, delivery_batch_size=3, delivery_portal_jobs=2)
    await _configure(WebhookService(db, tools, settings), portal_id, receiver)
    dossiers = [f"HS-{i % 4}" for i in range(20)]
    ids = await write_events(db, portal_id, dossiers)
    leased: list[int] = []
    path = db.engine.url.database
    assert path is not None

    def answer(_delivery: object) -> str:  # what is leased while each event arrives (committed state)
        with closing(sqlite3.connect(path)) as conn:
            query = "SELECT count(*) FROM outbox WHERE claim_token IS NOT NULL AND dispatch_state = 'pending'"
            leased.append(conn.execute(query).fetchone()[0])
        return "ok"

    receiver.server.answer = answer
    reports = await _relay_once(db, tools, settings)

    assert sum(r.delivered for r in reports) == 20 and sum(r.batches for r in reports) >= 7
    assert sorted(receiver.ids) == sorted(ids)
    for code in set(dossiers):
        sequences = [body["sequence"] for _, body, _ in receiver.got if body["dossier_code"] == code]
        assert sequences == list(range(1, 6)), code
    assert await _states(db, portal_id, ids) == [("delivered", 1)] * 20
    assert len(leased) == 20 and 0 < max(leased) <= 6


async def test_a_job_with_a_failure_does_not_carry_on(
    db: Database, tools: WebhookTools, settings: Settings, portal_id: str, receiver: Receiver
) -> None:
    settings = msgspec.structs.replace(settings, delivery_batch_size=2, delivery_portal_jobs=1)
    await _configure(WebhookService(db, tools, settings), portal_id, receiver)
    receiver.status = 503
    ids = await write_events(db, portal_id, ["A", "B", "C", "D", "E", "F"])
    [report] = await _relay_once(db, tools, settings)
    assert (report.batches, report.failed, report.delivered) == (1, 2, 0)
    assert receiver.ids == ids[:2]
    assert await _states(db, portal_id, ids[2:]) == [("pending", 0)] * 4
