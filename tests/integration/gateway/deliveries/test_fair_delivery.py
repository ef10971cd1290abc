"""Noisy neighbours: a portal with a big backlog, and one whose endpoint is slow, do not hold back another
portal's events. Claims are per portal and capped, so the quiet portal's events are claimed at the next poll
and delivered in about the time they take alone."""

from __future__ import annotations

import time

from tests.support.services import wait_for
from tests.support.stack import Stack
from tests.support.webhook_receiver import Receiver

from .conftest import Portal, new_portal, point, write_events

BOUND_SECONDS = 5.0  # alone, the quiet portal's events take well under a second


async def quiet_latency(stack: Stack, portal: Portal, receiver: Receiver, count: int = 20) -> float:
    assert stack.db is not None
    receiver.deliveries.clear()
    started = time.monotonic()
    ids = await write_events(stack.db, portal.portal_id, count, dossiers=5)
    await wait_for(lambda: set(receiver.unique()) == set(ids), timeout=60, interval=0.02, what="the quiet events")
    return time.monotonic() - started


async def test_a_backlogged_and_a_slow_portal_do_not_delay_another(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    alone = quiet_latency(stack, portal, receiver)
    alone_seconds = await alone

    slow = await Receiver(answer=lambda _d: "delay", delay=0.25).start()  # answers, but a quarter second each
    busy = await Receiver().start()
    try:
        for name, noisy in (("Cổng chậm", slow), ("Cổng tồn đọng", busy)):
            portal_id, api_key = await new_portal(stack, name)
            async with stack.client(api_key) as api:
                await point(Portal(portal_id, api), noisy)
            await write_events(stack.db, portal_id, 2_000 if noisy is slow else 5_000, dossiers=400)
        await wait_for(lambda: len(slow.deliveries) > 20 and len(busy.deliveries) > 200, timeout=60, what="noise")
        noisy_seconds = [await quiet_latency(stack, portal, receiver) for _ in range(3)]
        slow_backlog_left = 2_000 - len(slow.unique())
    finally:
        await slow.stop()
        await busy.stop()
    print(
        f"\nquiet portal, 20 events: alone {alone_seconds:.2f} s; beside a slow portal (0.25 s an answer, 2,000 "
        f"queued, {slow_backlog_left} still queued at the end) and a 5,000-event backlog: "
        + ", ".join(f"{s:.2f} s" for s in noisy_seconds)
    )
    assert slow_backlog_left > 500  # the noise was still there when the quiet portal's events went through
    assert max(noisy_seconds) < BOUND_SECONDS, noisy_seconds
