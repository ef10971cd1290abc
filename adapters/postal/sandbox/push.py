"""The optional push webhook: every event POSTed to the gateway, signed, retried 10 times 5 s apart.

Each change's events go out in one task, in order (newest first under the ``reorder`` fault), so a slow or
failing receiver delays only that change. Every attempt is recorded for ``/control/webhook/attempts``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import msgspec

from adapters.vntime import now_utc

from .. import webhook
from .config import WEBHOOK_RETRIES, WEBHOOK_TIMEOUT_SECONDS, SandboxConfig
from .faults import Faults
from .orders import Event, PostOffice


class Pusher:
    def __init__(self, office: PostOffice, config: SandboxConfig) -> None:
        self.office = office
        self.config = config
        self.attempts: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        office.listeners.append(self.on_events)

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS * max(self.config.time_scale, 0.1))

    async def stop(self) -> None:
        self.cancel_all()
        if self._http is not None:
            await self._http.aclose()

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def reset(self) -> None:
        self.cancel_all()
        self.attempts.clear()

    def on_events(self, batch: list[Event]) -> None:
        """Called by the post office, inside the event loop, for every change."""
        if not self.config.webhook_url or self._http is None:
            return
        faults = self.office.faults
        bodies = [msgspec.json.encode(event.wire()) for event in batch if not faults.take_drop()]
        if faults.webhook_reorder:
            bodies.reverse()
        copies = 1 + max(0, faults.webhook_repeat)
        task = asyncio.get_running_loop().create_task(self._push_all(bodies, copies, faults))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push_all(self, bodies: list[bytes], copies: int, faults: Faults) -> None:
        for body in bodies:
            for copy in range(copies):
                await self._push(body, copy, faults.webhook_bad_signature)

    async def _push(self, body: bytes, copy: int, bad_signature: bool) -> None:
        assert self._http is not None
        item = msgspec.json.decode(body)
        secrets = list(self.config.webhook_secrets)
        if bad_signature:
            secrets = [s + "-wrong" for s in secrets]
        for attempt in range(1, WEBHOOK_RETRIES + 2):
            header = webhook.sign(secrets, int(time.time()), body)
            record: dict[str, Any] = {
                "eventId": item["id"], "originalId": item["originalId"], "status": item["status"],
                "copy": copy, "attempt": attempt, "at": now_utc().isoformat(),
                "httpStatus": None, "error": "",
            }
            self.attempts.append(record)
            try:
                response = await self._http.post(
                    self.config.webhook_url, content=body,
                    headers={"Content-Type": "application/json", webhook.HEADER: header},
                )
                record["httpStatus"] = response.status_code
                if 200 <= response.status_code < 300:
                    return
            except httpx.HTTPError as exc:
                record["error"] = type(exc).__name__
            if attempt <= WEBHOOK_RETRIES:
                await asyncio.sleep(self.config.retry_spacing)


async def drive(office: PostOffice, step_seconds: float) -> None:
    """Move every open order one step along its plan, forever, every ``step_seconds``."""
    while True:
        await asyncio.sleep(step_seconds)
        for order in list(office.orders.values()):
            office.step(order)
