"""The soak's actors: portals paying fees, refunding, shipping and reading, citizens paying at the hub, the post
moving parcels, and an operator's worst day of hub and post faults, all on loopback.

Every answer is judged as a portal would: a 2xx is done; a 503 naming an unavailable partner or the database
(with Retry-After), or an Idempotency-Key still in progress, is retried with the same key; anything else, a
request that times out, or work that never completes once the faults are over, is an error.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.shipments import shipment_body
from tests.support.stack import Stack, payment_body

RETRYABLE = {"hub_unavailable", "postal_unavailable", "database_unavailable", "idempotency_in_progress"}
CLIENT_TIMEOUT = 30.0
GIVE_UP_SECONDS = 180.0  # work not done this long after it was asked for is an error

# The fault phases, in turn: (name, hub faults, post faults). Each lasts a phase, then a calm phase follows.
PHASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("hub callbacks lost", {"callback": {"drop": 1000}}, {}),
    ("hub init slow", {"init": {"stall_seconds": 3}}, {}),
    ("hub errors", {"init": {"http_status": 500}, "query": {"http_status": 500}, "refund": {"http_status": 500}}, {}),
    ("hub garbage", {"init": {"garbage": "text"}, "query": {"garbage": "json"}, "refund": {"garbage": "text"}}, {}),
    ("hub callbacks repeated", {"callback": {"repeat": 3, "delay_seconds": 0.5}}, {}),
    ("post errors", {}, {"http_status": 500, "calls": 100_000}),
    ("post slow", {}, {"stall_seconds": 3, "stall_calls": 100_000}),
    ("post garbage", {}, {"garbage": 100_000}),
    ("post pushes lost and repeated", {}, {"webhook": {"drop": 50, "repeat": 2, "reorder": True}}),
    ("post feed corrupt", {}, {"feed": {"corrupt": 5, "repeat": True}}),
]


@dataclass
class Soak:
    stack: Stack
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    paid: list[dict[str, Any]] = field(default_factory=list)
    phase: str = "calm"
    phases_seen: list[str] = field(default_factory=list)  # since the last row of the table

    def error(self, what: str) -> None:
        self.errors.append(f"{time.strftime('%H:%M:%S')} [{self.phase}] {what}")

    async def call(self, api: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response | None:
        """One request, retried with the same Idempotency-Key while the answer says "not now"."""
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            try:
                response = await api.request(method, url, **kw)
            except httpx.TimeoutException:
                self.error(f"{method} {url}: no answer within {CLIENT_TIMEOUT:.0f} s")
                return None
            except httpx.TransportError as exc:
                self.error(f"{method} {url}: {type(exc).__name__}")
                return None
            if response.is_success:
                return response
            code = _code(response)
            if code in RETRYABLE and "retry-after" in response.headers and time.monotonic() < deadline:
                self.counts["retries"] += 1
                await asyncio.sleep(min(float(response.headers["retry-after"]), 2.0))
                continue
            self.error(f"{method} {url}: {response.status_code} {code or response.text[:80]}")
            return None

    async def guarded(self, step: Any) -> None:
        """One actor's step; whatever it raises is an error of the run, and the actor goes on."""
        try:
            await step
        except Exception as exc:
            self.error(f"{type(exc).__name__}: {exc}")

    async def until(self, what: str, probe: Any) -> Any:
        """Poll ``probe`` until it gives a value; an error after GIVE_UP_SECONDS."""
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while time.monotonic() < deadline:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.5)
        self.error(f"never happened: {what}")
        return None

    async def payer(self, stop: asyncio.Event, index: int) -> None:
        async with self.stack.client() as api, self.stack.hub() as hub:
            api.timeout = httpx.Timeout(CLIENT_TIMEOUT)
            n = 0
            while not stop.is_set():
                n += 1
                await self.guarded(self.one_payment(api, hub, refund=(n + index) % 3 == 0))

    async def one_payment(self, api: httpx.AsyncClient, hub: httpx.AsyncClient, refund: bool) -> None:
        headers = {"Idempotency-Key": secrets.token_hex(12)}
        created = await self.call(api, "POST", "/v1/payments", json=payment_body(), headers=headers)
        if created is None:
            return
        payment = created.json()
        self.counts["payments created"] += 1
        paid_at_hub = await hub.post(f"/control/payments/{payment['reference']}/pay", json={"result": "00"})
        if paid_at_hub.status_code != 200:
            self.error(f"hub sandbox refused to pay {payment['reference']}: {paid_at_hub.text[:80]}")
            return

        async def is_paid() -> dict[str, Any] | None:
            answer = await self.call(api, "GET", f"/v1/payments/{payment['id']}")
            return answer.json() if answer is not None and answer.json()["status"] == "paid" else None

        if await self.until(f"payment {payment['id']} paid", is_paid) is None:
            return
        self.counts["payments paid"] += 1
        self.paid.append(payment)
        if refund:
            body = {"amount": 50_000, "reason": "Thu thừa phí"}
            url = f"/v1/payments/{payment['id']}/refunds"
            if await self.call(api, "POST", url, json=body, headers={"Idempotency-Key": secrets.token_hex(12)}):
                self.counts["refunds"] += 1
        await self.lookup(api, payment)

    async def lookup(self, api: httpx.AsyncClient, payment: dict[str, Any]) -> None:
        async def receipt() -> dict[str, Any] | None:
            answer = await self.call(api, "GET", f"/v1/payments/{payment['id']}/receipts")
            found = answer.json() if answer is not None else []
            return found[0] if found else None

        issued = await self.until(f"receipt of {payment['id']}", receipt)
        if issued is None:
            return
        page = await self.call(api, "GET", f"/tra-cuu/{issued['lookup_code']}")
        if page is not None:
            self.counts["receipt lookups"] += 1

    async def shipper(self, stop: asyncio.Event) -> None:
        async with self.stack.client() as api, self.stack.post() as post:
            api.timeout = httpx.Timeout(CLIENT_TIMEOUT)
            while not stop.is_set():
                await self.guarded(self.one_shipment(api, post))

    async def one_shipment(self, api: httpx.AsyncClient, post: httpx.AsyncClient) -> None:
        headers = {"Idempotency-Key": secrets.token_hex(12)}
        booked = await self.call(api, "POST", "/v1/shipments", json=shipment_body(), headers=headers)
        if booked is None:
            return
        shipment = booked.json()
        self.counts["shipments booked"] += 1
        moved = await post.post(f"/control/orders/{shipment['original_id']}/advance", json={"scenario": "deliver"})
        if moved.status_code != 200:
            self.error(f"post sandbox refused to move {shipment['original_id']}: {moved.text[:80]}")
            return

        async def delivered() -> bool:
            answer = await self.call(api, "GET", f"/v1/shipments/{shipment['id']}")
            return answer is not None and answer.json()["status"] == "delivered"

        if await self.until(f"shipment {shipment['id']} delivered", delivered):
            self.counts["shipments delivered"] += 1

    async def reader(self, stop: asyncio.Event) -> None:
        """A portal following its event feed."""
        async with self.stack.client() as api:
            api.timeout = httpx.Timeout(CLIENT_TIMEOUT)
            after: str | None = None
            while not stop.is_set():
                params = {"limit": "100", **({"after": after} if after else {})}
                page = await self.call(api, "GET", "/v1/events", params=params)
                if page is not None:
                    body = page.json()
                    self.counts["feed events read"] += len(body["data"])
                    after = body["next_cursor"] or after
                await asyncio.sleep(1.0)

    async def faults(self, stop: asyncio.Event, seconds: float) -> None:
        """Each fault phase in turn for ``seconds``, then as long calm; faults go only through the control APIs."""
        async with self.stack.hub() as hub, self.stack.post() as post:
            turn = 0
            while not stop.is_set():
                name, at_hub, at_post = PHASES[turn % len(PHASES)]
                turn += 1
                if at_hub:
                    await hub.put("/control/faults", json=at_hub)
                if at_post:
                    await post.put("/control/faults", json=at_post)
                self.phase = name
                self.phases_seen.append(name)
                self.counts["fault phases"] += 1
                await _pause(stop, seconds)
                await hub.delete("/control/faults")
                await post.delete("/control/faults")
                self.phase = "calm"
                await _pause(stop, seconds)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def _code(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return str(response.json().get("code", ""))
    return ""
