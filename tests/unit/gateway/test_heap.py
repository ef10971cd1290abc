"""A served process's heap once it is up: start-up's garbage collected, the rest out of the collector's way, and
freezing again (the worker starts again after losing Redis) lets go of what was frozen and has become garbage
since."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gateway import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    """Two objects that refer to each other, held by nothing else: only the collector frees them."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # nothing of this test process left frozen for the tests after


def test_what_is_held_is_frozen_and_the_oldest_generation_is_left_empty() -> None:
    held = [Node() for _ in range(1000)]
    assert len(gc.get_objects(2)) > len(held), "a test process's oldest generation holds its modules and more"
    frozen = heap.freeze_startup()  # frozen objects may still die by their count meanwhile: no equality after
    oldest = len(gc.get_objects(2))
    assert frozen > len(held)
    assert oldest < 1000, "a full collection now walks only what was made since"
    walked = {id(item) for item in gc.get_objects()}
    assert not any(id(node) in walked for node in held), "frozen objects are in no generation"


def test_garbage_left_by_start_up_is_collected_not_frozen() -> None:
    garbage = cycle()
    assert garbage() is not None
    heap.freeze_startup()
    assert garbage() is None


def test_freezing_again_collects_what_was_frozen_and_became_garbage_since() -> None:
    holder = [Node()]
    holder[0].other = Node()
    holder[0].other.other = holder[0]
    gone = weakref.ref(holder[0])
    heap.freeze_startup()
    holder.clear()  # the container of a worker closed after losing Redis: a cycle, frozen
    gc.collect()
    assert gone() is not None, "a frozen cycle is kept by the collector"
    heap.freeze_startup()
    assert gone() is None
