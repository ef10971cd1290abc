"""The web app's job queue writes the job arq itself would write, in one round trip, with arq's rule: no second job
with an id while one waits or its result is kept."""

from __future__ import annotations

import secrets

import pytest
from arq.connections import ArqRedis
from arq.constants import result_key_prefix

from gateway.jobs import ISSUE_RECEIPT, JobQueue, receipt_job_id

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
