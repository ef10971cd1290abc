"""A delivery job that delivered its whole batch queues its portal's next batch at once, as a job of its own on the
real queue; one with a failure queues nothing, and a re-run of a job whose batch was delivered does nothing."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from arq.connections import ArqRedis

from adapters.vntime import now_utc
from gateway import portals
from gateway.deliveries import SecretBox, WebhookService, WebhookTools, claim, new_key
from gateway.deliveries.addresses import NetworkPolicy
from gateway.deliveries.jobs import deliver_events
from gateway.deliveries.transport import WebhookHttp
from gateway.jobs import DELIVER_EVENTS, JobQueue
from gateway.settings import load
from gateway.store.db import Database
from tests.support.collected_money import migrated_sqlite
from tests.support.stack import RECEIVER_HOST
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.redis

SETTINGS = load(
    {
        "PAYHUB_HASH_KEY": "k",
        "WEBHOOK_SECRETS_KEY": new_key(),
        "DELIVERY_BATCH_SIZE": "2",
        "DELIVERY_PORTAL_JOBS": "1",
        "DELIVERY_BREAKER_THRESHOLD": "5",
    }
)
POLICY = NetworkPolicy(private_networks=(ipaddress.ip_network(f"{RECEIVER_HOST}/32"),))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_sqlite(tmp_path) as database:
        yield database


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = await Receiver().start()
    try:
        yield found
    finally:
        await found.stop()


async def _portal_with_events(db: Database, tools: WebhookTools, receiver: Receiver, count: int) -> str:
    portal_id, _ = await portals.create_portal(db, "Cổng thử")
    assert await portals.set_private_webhooks(db, portal_id, True)
    made, _ = await WebhookService(db, tools, SETTINGS).configure(portal_id, receiver.url, True)
    receiver.secrets.append(str(made.secret))
    async with db.unit() as uow:
        for i in range(count):
            await uow.event(
                portal_id=portal_id,
                dossier_code=f"HS-{i}",
                type="payment.paid",
                resource_type="payment",
                resource_id=f"pay_{i}",
                payload={"n": i},
                now=now_utc(),
            )
    return portal_id


async def test_a_whole_batch_queues_the_portals_next_and_a_failed_one_does_not(
    db: Database, redis: ArqRedis, receiver: Receiver
) -> None:
    tools = WebhookTools(SecretBox.from_settings(SETTINGS), WebhookHttp.build(SETTINGS, policy=POLICY))
    container = SimpleNamespace(db=db, webhooks=tools, settings=SETTINGS, jobs=JobQueue(redis))
    ctx = {"container": container, "job_try": 1}
    try:
        portal_id = await _portal_with_events(db, tools, receiver, 5)
        [first] = (await claim(db, SETTINGS, now_utc())).chunks
        report = await deliver_events(ctx, portal_id, first.token, first.positions)
        assert report["whole"] and report["delivered"] == 2
        [queued] = await redis.queued_jobs(queue_name=redis.default_queue_name)
        assert queued.function == DELIVER_EVENTS and queued.args[0] == portal_id
        assert len(queued.args[2]) == 2 and min(queued.args[2]) > max(first.positions), "the next two, in order"

        again = await deliver_events(ctx, portal_id, first.token, first.positions)  # a re-run of the first job
        assert (again["delivered"], again["whole"]) == (0, False)
        assert len(await redis.queued_jobs(queue_name=redis.default_queue_name)) == 1, "nothing queued twice"

        receiver.answer = lambda _delivery: "fail"
        failed = await deliver_events(ctx, *queued.args)
        assert (failed["whole"], failed["failed"], failed["delivered"]) == (False, 2, 0)  # two dossiers, each failed
        assert len(await redis.queued_jobs(queue_name=redis.default_queue_name)) == 1, "a failure queues nothing"
        assert len(receiver.verified_ids) == 4  # two delivered, two answered with a failure
    finally:
        await tools.aclose()
