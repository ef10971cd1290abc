"""The web app's job queue writes the job arq itself would write, in one round trip, with arq's rule: no second job
with an id while one waits or its result is kept."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from arq.constants import result_key_prefix

from gateway import broker, embedded, jobs
from gateway.bootstrap import Container
from gateway.jobs import ISSUE_RECEIPT, RECEIPT_BATCH, JobQueue, receipt_job_id
from gateway.settings import load
from tests.support.services import require_redis
from tests.support.stack import WEBHOOK_SECRETS_KEY

pytestmark = pytest.mark.redis


async def test_a_queued_job_is_the_one_arq_would_queue(redis: ArqRedis) -> None:
    queue = JobQueue(redis)
    job_id = receipt_job_id("payment", f"pay_{secrets.token_hex(8)}")
    assert await queue.enqueue(ISSUE_RECEIPT, "payment", "pay_1", job_id=job_id)
    [job] = await redis.queued_jobs(queue_name=redis.default_queue_name)
    assert (job.function, job.args, job.kwargs, job.job_try) == (ISSUE_RECEIPT, ("payment", "pay_1"), {}, None)
    assert 0 < await redis.pttl(f"arq:job:{job_id}") <= redis.expires_extra_ms
    score = await redis.zscore(redis.default_queue_name, job_id)
    assert score == int(job.enqueue_time.timestamp() * 1000)


async def test_a_job_is_not_queued_twice_while_it_waits_or_its_result_is_kept(redis: ArqRedis) -> None:
    queue = JobQueue(redis)
    job_id = receipt_job_id("payment", f"pay_{secrets.token_hex(8)}")
    assert await queue.enqueue(ISSUE_RECEIPT, "payment", "pay_1", job_id=job_id)
    assert not await queue.enqueue(ISSUE_RECEIPT, "payment", "pay_1", job_id=job_id)
    assert await redis.zcard(redis.default_queue_name) == 1

    done = receipt_job_id("payment", f"pay_{secrets.token_hex(8)}")
    await redis.set(result_key_prefix + done, b"kept", px=60_000)
    try:
        assert not await queue.enqueue(ISSUE_RECEIPT, "payment", "pay_2", job_id=done)
        assert await redis.zcard(redis.default_queue_name) == 1
    finally:
        await redis.delete(result_key_prefix + done)


async def test_receipts_asked_for_together_are_queued_together(
    redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = JobQueue(redis)
    round_trips: list[int] = []
    enqueue_many = queue.enqueue_many

    async def counted(name: str, jobs: list[tuple[tuple[object, ...], str]]) -> list[bool]:
        round_trips.append(len(jobs))
        return await enqueue_many(name, jobs)

    monkeypatch.setattr(queue, "enqueue_many", counted)
    ids = [f"pay_{secrets.token_hex(8)}" for _ in range(300)]
    for source_id in ids:  # one turn of the loop: as many requests answered at once
        await queue.issue_receipt("payment", source_id)
    await queue.issue_receipt("payment", ids[0])  # asked twice while its job waits: queued once
    await queue.drain()

    assert round_trips == [RECEIPT_BATCH, 301 - RECEIPT_BATCH]
    queued = await redis.queued_jobs(queue_name=redis.default_queue_name)
    assert sorted(job.args for job in queued) == sorted(("payment", source_id) for source_id in ids)
    assert {job.function for job in queued} == {ISSUE_RECEIPT}


async def test_receipts_not_queued_are_said_and_nothing_raises(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = ArqRedis.from_url(f"redis://127.0.0.1:{embedded.free_port()}/0", socket_connect_timeout=1)
    try:
        queue = JobQueue(unreachable)
        with caplog.at_level("WARNING", logger="gateway.jobs"):
            await queue.issue_receipt("payment", "pay_lost")
            await queue.drain()
    finally:
        await unreachable.aclose()
    [record] = [r for r in caplog.records if r.getMessage() == "receipt jobs not queued; the sweeper will issue them"]
    assert record.count == 1 and record.source_ids == ["pay_lost"]


async def test_receipts_redis_refuses_are_said_and_those_after_them_are_queued(
    redis: ArqRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis answers the pipeline but refuses its jobs (here the queue's key holds a string, so ZADD fails): those
    are logged for the sweeper, and what is asked for next is queued as usual."""
    queue = JobQueue(redis)
    await redis.set(redis.default_queue_name, "not a queue")
    refused = [f"pay_{secrets.token_hex(8)}" for _ in range(5)]
    with caplog.at_level("WARNING", logger="gateway.jobs"):
        for source_id in refused:
            await queue.issue_receipt("payment", source_id)
        await queue.drain()
    [record] = [r for r in caplog.records if r.getMessage() == "receipt jobs not queued; the sweeper will issue them"]
    assert record.count == 5 and sorted(record.source_ids) == sorted(refused)
    assert "refused" in record.error and "WRONGTYPE" in record.error

    await redis.delete(redis.default_queue_name)
    await queue.issue_receipt("payment", "pay_after")
    await queue.drain()
    queued = await redis.queued_jobs(queue_name=redis.default_queue_name)
    assert [job.args for job in queued] == [("payment", "pay_after")]


class Silent:
    """A server that takes Redis's connections and never answers: a frozen Redis."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected.set()
        await reader.read()
        writer.close()


@pytest.fixture
async def frozen() -> AsyncIterator[tuple[ArqRedis, Silent]]:
    silent = Silent()
    server = await asyncio.start_server(silent.serve, "127.0.0.1", 0)
    client = ArqRedis.from_url(f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0")
    try:
        yield client, silent
    finally:
        await client.aclose(close_connection_pool=True)
        server.close()


def said(caplog: pytest.LogCaptureFixture) -> list[tuple[int, list[str], str]]:
    return [
        (r.count, r.source_ids, r.error)
        for r in caplog.records
        if r.getMessage() == "receipt jobs not queued; the sweeper will issue them"
    ]


async def ask_while_frozen(
    frozen: tuple[ArqRedis, Silent], caplog: pytest.LogCaptureFixture, behind: list[str]
) -> None:
    """Ask for pay_1's receipt, then, once its flush is under way against the frozen Redis, for ``behind``'s; then
    close the queue (``drain``), within 5 s."""
    redis, silent = frozen
    queue = JobQueue(redis)
    with caplog.at_level("WARNING", logger="gateway.jobs"):
        await queue.issue_receipt("payment", "pay_1")
        await asyncio.wait_for(silent.connected.wait(), 5)  # its flush is under way
        for source_id in behind:
            await queue.issue_receipt("payment", source_id)
        await asyncio.wait_for(queue.drain(), 5)


async def test_a_flush_that_times_out_gives_up_on_what_waits_behind_it(
    frozen: tuple[ArqRedis, Silent], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """While Redis does not answer, receipts asked for meanwhile are not kept piling up in memory: beyond the
    backlog they are left to the sweeper at once, and those waiting are given up with the flush that timed out."""
    monkeypatch.setattr(jobs, "FLUSH_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(jobs, "RECEIPT_BACKLOG", 2)
    await ask_while_frozen(frozen, caplog, ["pay_2", "pay_3", "pay_4"])
    assert [(count, ids) for count, ids, _ in said(caplog)] == [(3, ["pay_1", "pay_2", "pay_3"]), (1, [])]
    assert "beyond the backlog" in said(caplog)[1][2]


async def test_closing_waits_for_a_frozen_redis_only_so_long(
    frozen: tuple[ArqRedis, Silent], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(jobs, "FLUSH_TIMEOUT_SECONDS", 60)
    monkeypatch.setattr(jobs, "DRAIN_SECONDS", 0.3)
    await ask_while_frozen(frozen, caplog, ["pay_2"])  # drained within 5 s, not the flush's 60
    assert said(caplog) == [(2, ["pay_1", "pay_2"], "closing")]  # the batch under way and the one behind it


async def test_a_container_closing_queues_the_receipts_asked_for_before_it_closes(
    redis: ArqRedis, tmp_path: Path
) -> None:
    """What the callbacks answered just before the process stops asked for is queued before Redis is let go."""
    settings = load(
        {
            "PAYHUB_HASH_KEY": "k",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            "REDIS_URL": require_redis(),
            "QUEUE_NAME": redis.default_queue_name,
            "WEBHOOK_SECRETS_KEY": WEBHOOK_SECRETS_KEY,
        }
    )
    container = Container.build(settings)
    await container.jobs.drain()  # nothing asked for yet, and no Redis: nothing to do
    container.redis = container.jobs.redis = broker.connect(settings)
    ids = [f"pay_{secrets.token_hex(8)}" for _ in range(40)]
    for source_id in ids:
        await container.jobs.issue_receipt("payment", source_id)
    await container.close()

    queued = await redis.queued_jobs(queue_name=redis.default_queue_name)
    assert sorted(job.args for job in queued) == sorted(("payment", source_id) for source_id in ids)
