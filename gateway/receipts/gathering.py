"""Receipt jobs that arrive together are issued together.

The worker runs many ``issue_receipt`` jobs at once, one per payment just paid. Each asks here for its source's
receipt; while a batch is being issued, the jobs that arrive wait, and are then issued as the next batch: one read
of their sources, one signing pass on every core, one short transaction taking their numbers. A job alone is
issued at once (no waiting for company); under load the batches grow by themselves, up to ``most``. Each job
still gets its own answer: its receipt id, None when nothing was collected, or the reason it cannot be issued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

Outcome = str | None | Exception  # the receipt id; None when nothing was collected; why it cannot be issued
IssueMany = Callable[[str, Sequence[str], datetime | None], Awaitable[dict[str, Outcome]]]
_Waiting = tuple[str, str, datetime | None, asyncio.Future[str | None]]


def _settle(future: asyncio.Future[str | None], outcome: Outcome) -> None:
    if future.done():  # the job gave up waiting (its timeout); the receipt stands all the same
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class Gathering:
    """Gathers concurrent requests for receipts into batches issued by ``issue_many`` (by source type and the
    moment asked for, if any)."""

    def __init__(self, issue_many: IssueMany, most: int) -> None:
        self.issue_many = issue_many
        self.most = most
        self._waiting: list[_Waiting] = []
        self._draining: asyncio.Task[None] | None = None

    async def issue(self, source_type: str, source_id: str, now: datetime | None) -> str | None:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((source_type, source_id, now, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            groups: dict[tuple[str, datetime | None], list[_Waiting]] = {}
            for waiting in taken:
                groups.setdefault((waiting[0], waiting[2]), []).append(waiting)
            try:
                for (source_type, now), group in groups.items():
                    await self._issue_group(source_type, now, group)
            finally:  # cancelled (the worker stops): nobody is left waiting for ever
                for *_, future in taken:
                    future.cancel()

    async def _issue_group(self, source_type: str, now: datetime | None, group: list[_Waiting]) -> None:
        ids = list(dict.fromkeys(source_id for _, source_id, _, _ in group))  # a job queued twice is asked once
        try:
            outcomes = await self.issue_many(source_type, ids, now)
        except Exception as error:  # the database is unavailable, say: every job of the batch retries
            for *_, future in group:
                _settle(future, error)
            return
        for _, source_id, _, future in group:
            _settle(future, outcomes.get(source_id))
