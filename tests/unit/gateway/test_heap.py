"""A process's heap once it is up: start-up's garbage collected, the rest out of the collector's way, and settling
again (the worker starts again after losing Redis) lets go of what was frozen and has become garbage since."""

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
    yield
    gc.unfreeze()  # the rest of the test process as it was


def test_what_is_held_is_frozen_and_a_full_collection_no_longer_walks_it() -> None:
    held = [Node() for _ in range(1000)]
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() and frozen >= len(held)
    walked = {id(item) for item in gc.get_objects()}
    assert not any(id(node) in walked for node in held), "frozen objects are not in any generation"
    assert gc.collect() == 0


def test_garbage_left_by_start_up_is_collected_not_frozen() -> None:
    garbage = cycle()
    assert garbage() is not None
    heap.settle()
    assert garbage() is None


def test_settling_again_collects_what_was_frozen_and_became_garbage_since() -> None:
    holder = [Node()]
    holder[0].other = Node()
    holder[0].other.other = holder[0]
    gone = weakref.ref(holder[0])
    heap.settle()
    holder.clear()  # the container of a worker closed after losing Redis: a cycle, frozen
    gc.collect()
    assert gone() is not None, "a frozen cycle is kept by the collector"
    heap.settle()
    assert gone() is None
