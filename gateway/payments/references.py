"""The hub's references of our payments and refunds are drawn at random (``gateway.ids``): 50 random bits a Vietnam
day, so two of one day may draw the same one (at a million a day, about once in six years). The unique reference
refuses the second; nothing of it was stored, and it is stored again with a new draw."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from gateway.store.uow import unique_taken

T = TypeVar("T")

DRAWS = 3  # three draws taken in a row is no accident: the error is raised

log = logging.getLogger("gateway.payments")


async def stored_with_a_fresh_reference(store: Callable[[], Awaitable[T]], table: str) -> T:
    """``store()``, which draws a new reference each time it runs in a transaction of its own, run again while the
    reference it drew is taken."""
    for draw in range(1, DRAWS + 1):
        try:
            return await store()
        except IntegrityError as error:
            if draw == DRAWS or not unique_taken(error, table, "reference"):
                raise
            log.warning("a reference was drawn twice; drawing another", extra={"table": table, "draw": draw})
    raise AssertionError("every draw returns or raises")
