"""The CONFIRM callback sender: delivers each result until the partner gives a verified final reply.

Every delivery runs as an asyncio task of the sandbox process; every attempt is kept in memory for the control
API. Faults shape a delivery before it starts: dropped, repeated, delayed, held for reordering, or altered.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import msgspec

from adapters.payhub import checksum
from adapters.payhub.codes import FINAL_REPLIES
from adapters.vntime import now_utc

from .config import SandboxConfig
from .faults import CallbackFaults
from .protocol import signed

PENDING = "pending"
HELD = "held"
DELIVERED = "delivered"
GAVE_UP = "gave_up"
DROPPED = "dropped"
NO_URL = "no_callback_url"


@dataclass
class Attempt:
    number: int
    at: datetime
    http_status: int | None = None
    reply_code: str | None = None
    verified: bool = False
    error: str = ""


@dataclass
class Delivery:
    id: int
    reference: str
    body: dict[str, Any]
    status: str = PENDING
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    reply_code: str | None
    verified: bool

    @property
    def final(self) -> bool:
        return self.verified and self.reply_code in FINAL_REPLIES


def judge(status: int, body: bytes, key: str) -> Verdict:
    """Read the partner's reply: only a 200 whose ``confirm-ack`` checksum verifies can end a delivery."""
    try:
        reply = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return Verdict(None, False)
    if not isinstance(reply, dict):
        return Verdict(None, False)
    code = reply.get("MaLoi") if isinstance(reply.get("MaLoi"), str) else None
    try:
        verified = checksum.verify("confirm-ack", reply, key, reply.get("MaXacThuc"))
    except TypeError:
        verified = False
    return Verdict(code, verified and status == 200)


def shape(body: dict[str, Any], faults: CallbackFaults, key: str) -> dict[str, Any]:
    """Apply the amount and checksum faults to a genuine CONFIRM body (a copy)."""
    shaped = dict(body)
    if faults.alter_amount:
        shaped["SoTien"] = int(shaped["SoTien"]) + faults.alter_amount
        shaped = signed("confirm", shaped, key)
    if faults.bad_checksum:
        good = shaped["MaXacThuc"]
        shaped["MaXacThuc"] = good[:-1] + ("0" if good[-1] != "0" else "1")
    return shaped


class CallbackSender:
    def __init__(self, config: SandboxConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.deliveries: list[Delivery] = []
        self._held: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(config.scaled_callback_timeout),
            transport=transport,
            headers={"User-Agent": "payhub-sandbox/callbacks"},
        )

    def send(
        self, reference: str, body: dict[str, Any], faults: CallbackFaults, drop: bool
    ) -> list[Delivery]:
        """Start (or hold, or drop) the deliveries of one callback; returns them at once."""
        if drop:
            return [self._new(reference, body, DROPPED)]
        shaped = shape(body, faults, self.config.hash_key)
        started = []
        for _ in range(faults.repeat):
            if not self.config.callback_url:
                started.append(self._new(reference, shaped, NO_URL))
            elif faults.reorder:
                delivery = self._new(reference, shaped, HELD)
                self._held.append(delivery)
                started.append(delivery)
            else:
                delivery = self._new(reference, shaped, PENDING)
                self._spawn(self._run(delivery, faults.delay_seconds))
                started.append(delivery)
        return started

    async def release(self) -> list[Delivery]:
        """Send the held callbacks newest first, each first attempt finished before the next begins."""
        held, self._held = self._held, []
        for delivery in reversed(held):
            delivery.status = PENDING
            if not await self.attempt(delivery):
                self._spawn(self._run(delivery, 0.0, first_retry=0))
        return list(reversed(held))

    async def resend(self, reference: str, body: dict[str, Any]) -> Delivery:
        """One extra delivery of the genuine callback, a single attempt, awaited."""
        delivery = self._new(reference, body, PENDING)
        if not self.config.callback_url:
            delivery.status = NO_URL
        elif not await self.attempt(delivery):
            delivery.status = GAVE_UP
        return delivery

    @property
    def active(self) -> int:
        """Deliveries still running (sending or waiting on the ladder)."""
        return len(self._tasks)

    def for_reference(self, reference: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.reference == reference]

    async def attempt(self, delivery: Delivery) -> bool:
        """One POST; records it and says whether the delivery is over."""
        record = Attempt(number=len(delivery.attempts) + 1, at=now_utc())
        delivery.attempts.append(record)
        try:
            response = await self._http.post(self.config.callback_url, json=delivery.body)
        except httpx.HTTPError as exc:
            record.error = type(exc).__name__
            return False
        record.http_status = response.status_code
        verdict = judge(response.status_code, response.content, self.config.hash_key)
        record.reply_code, record.verified = verdict.reply_code, verdict.verified
        if verdict.final:
            delivery.status = DELIVERED
        return verdict.final

    async def reset(self) -> None:
        await self._cancel_all()
        self.deliveries.clear()
        self._held.clear()

    async def close(self) -> None:
        await self._cancel_all()
        await self._http.aclose()

    async def _run(self, delivery: Delivery, delay: float, first_retry: int | None = None) -> None:
        """The first attempt (after an optional delay), then one retry per ladder step until a final reply."""
        if delay > 0:
            await asyncio.sleep(delay)
        ladder = self.config.retry_delays
        waits = ladder[first_retry:] if first_retry is not None else (0.0, *ladder)
        for wait in waits:
            if wait > 0:
                await asyncio.sleep(wait)
            if await self.attempt(delivery):
                return
        delivery.status = GAVE_UP

    def _new(self, reference: str, body: dict[str, Any], status: str) -> Delivery:
        delivery = Delivery(id=next(self._ids), reference=reference, body=body, status=status)
        self.deliveries.append(delivery)
        return delivery

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
