"""Building, validating and signing receipts off the event loop, on every core the process may use.

The RSA signature (``cryptography``) and much of libxml2's work run without the GIL, so a pool of one thread per
core signs a batch in parallel while the event loop goes on reading and storing. The pool is bounded: a batch is
cut into one chunk per thread rather than one task per receipt.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _each(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    return [work(item) for item in items]


class Signer:
    """A bounded pool of signing threads (one per core unless told)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or available_cores()
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="receipt-signer")
        return self._pool

    async def map(self, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``work`` applied to every item in the pool, results in order; the first exception raised is raised."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        size = -(-len(items) // self.threads)  # ceiling: one chunk per thread
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        done = await asyncio.gather(*(loop.run_in_executor(self._executor(), _each, work, c) for c in chunks))
        return [result for chunk in done for result in chunk]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
