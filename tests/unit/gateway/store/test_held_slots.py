"""The slots that bound the checked units' held connections: never more taken than there are, first come first
served, a wait bounded in time, and no slot lost or doubled by a wait that times out or is cancelled at any point."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store.held import Slots


async def test_slots_are_taken_at_once_until_none_is_left_then_in_the_order_asked() -> None:
    slots = Slots(2)
    await slots.take(1)
    await slots.take(1)
    order: list[int] = []

    async def waiter(i: int) -> None:
        await slots.take(5)
        order.append(i)

    waiters = [asyncio.create_task(waiter(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert order == [] and slots.taken == 2
    for _ in range(3):
        slots.release()
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]
    assert slots.taken == 2, "each release handed its slot on"
    slots.release()
    slots.release()
    assert slots.taken == 0


async def test_a_wait_past_its_time_fails_and_leaves_no_turn_behind() -> None:
    slots = Slots(1)
    await slots.take(1)
    with pytest.raises(TimeoutError):
        await slots.take(0.01)
    slots.release()
    assert slots.taken == 0
    await slots.take(0)  # free, and no stale turn ahead of it: taken at once
    assert slots.taken == 1


async def test_a_waiter_cancelled_before_its_turn_leaves_the_queue() -> None:
    slots = Slots(1)
    await slots.take(1)
    waiting = asyncio.create_task(slots.take(5))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    slots.release()
    assert slots.taken == 0


async def test_a_waiter_cancelled_after_it_was_handed_a_slot_passes_the_slot_on() -> None:
    slots = Slots(1)
    await slots.take(1)
    first = asyncio.create_task(slots.take(5))
    second = asyncio.create_task(slots.take(5))
    await asyncio.sleep(0)
    slots.release()  # the slot is the first waiter's now, but it has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the slot reached the next waiter
    assert slots.taken == 1
    slots.release()
    assert slots.taken == 0


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 3),
    plan=st.lists(st.tuples(st.sampled_from(["hold", "cancel", "expire"]), st.integers(0, 3)), max_size=12),
)
def test_any_mix_of_holders_cancellations_and_timeouts_never_exceeds_the_slots_nor_loses_one(
    size: int, plan: list[tuple[str, int]]
) -> None:
    async def scenario() -> None:
        slots = Slots(size)
        holding = 0
        most = 0

        async def holder(turns: int) -> None:
            nonlocal holding, most
            await slots.take(5)
            holding += 1
            most = max(most, holding)
            try:
                for _ in range(turns):
                    await asyncio.sleep(0)
            finally:
                holding -= 1
                slots.release()

        async def expiring() -> None:
            try:
                await slots.take(0)
            except TimeoutError:
                return
            slots.release()

        tasks = []
        for what, turns in plan:
            if what == "expire":
                tasks.append(asyncio.create_task(expiring()))
            else:
                task = asyncio.create_task(holder(turns))
                tasks.append(task)
                if what == "cancel":
                    for _ in range(turns):
                        await asyncio.sleep(0)
                    task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert most <= size
        assert holding == 0
        assert slots.taken == 0, "every slot taken came back"
        await asyncio.wait_for(slots.take(0), 1)

    asyncio.run(scenario())
