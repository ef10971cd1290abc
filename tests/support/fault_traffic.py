"""Load during a fault, as portals and citizens make it, and what must hold once the fault is over.

``Traffic`` runs loops that create payments (retrying an unanswered creation with the same Idempotency-Key, as the
integration guide says), have the citizen pay at the hub, and read payments back. Every answer is recorded; a 500,
a non-problem error or a request that runs into the client timeout is a failure of the gateway. Connection errors
are recorded apart: they are expected only while the gateway process is down.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select

from gateway.store.tables import outbox as ot
from gateway.store.tables import payments as pt
from gateway.store.tables import receipts as rt
from tests.support.services import wait_for
from tests.support.stack import Stack, payment_body

# The answers a gateway may give while a dependency is down (beyond the normal ones).
OUTAGE_CODES = {"database_unavailable", "hub_unavailable", "postal_unavailable", "idempotency_in_progress"}


@dataclass
class Answer:
    what: str
    status: int | None  # None: no HTTP answer
    code: str = ""
    error: str = ""
    retry_after: str | None = None
    problem: bool = False
    seconds: float = 0.0


@dataclass
class Order:
    """One payment a portal asked for: its key and body, and what the gateway and the hub made of it."""

    key: str
    body: dict[str, Any]
    payment: dict[str, Any] | None = None
    paid_at_hub: bool = False


@dataclass
class Traffic:
    stack: Stack
    answers: list[Answer] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    pace: float = 0.05

    async def call(
        self, client: httpx.AsyncClient, what: str, method: str, url: str, **kw: Any
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await client.request(method, url, **kw)
        except httpx.TimeoutException as exc:
            waited = time.monotonic() - started
            self.answers.append(Answer(what, None, error=f"timeout {type(exc).__name__}", seconds=waited))
            return None
        except httpx.TransportError as exc:
            self.answers.append(Answer(what, None, error=f"connection {type(exc).__name__}"))
            return None
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        code = response.json().get("code", "") if problem else ""
        self.answers.append(
            Answer(
                what,
                response.status_code,
                code,
                "",
                response.headers.get("retry-after"),
                problem,
                time.monotonic() - started,
            )
        )
        return response

    async def run(self, stop: asyncio.Event, loops: int = 3) -> None:
        async with self.stack.client() as api, self.stack.hub() as hub:
            await asyncio.gather(*(self._loop(api, hub, stop) for _ in range(loops)))

    async def _loop(self, api: httpx.AsyncClient, hub: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            order = Order(secrets.token_hex(12), payment_body())
            self.orders.append(order)
            await self.create(api, order)
            if order.payment is not None:
                await self.pay(hub, order)
                await self.call(api, "read", "GET", f"/v1/payments/{order.payment['id']}")
            await asyncio.sleep(self.pace)

    async def create(self, api: httpx.AsyncClient, order: Order) -> None:
        response = await self.call(
            api, "create", "POST", "/v1/payments", json=order.body, headers={"Idempotency-Key": order.key}
        )
        if response is not None and response.status_code == 201:
            order.payment = response.json()

    async def pay(self, hub: httpx.AsyncClient, order: Order) -> None:
        """The citizen pays at the hub's checkout (the hub then calls the gateway back, retrying as it does)."""
        assert order.payment is not None
        response = await hub.post(f"/control/payments/{order.payment['reference']}/pay", json={"result": "00"})
        order.paid_at_hub = response.status_code == 200

    async def finish(self) -> None:
        """What a portal does after the fault: retry every unanswered creation with its key, until answered."""
        async with self.stack.client() as api, self.stack.hub() as hub:
            for order in self.orders:
                if order.payment is None:
                    await wait_for(lambda o=order: self._created(api, o), timeout=60, interval=0.2, what="a retry")
                    if order.payment is not None:
                        await self.pay(hub, order)

    async def _created(self, api: httpx.AsyncClient, order: Order) -> bool:
        await self.create(api, order)
        return order.payment is not None

    def failures(self, *, gateway_down: bool = False) -> list[Answer]:
        """Answers no fault excuses: a 5xx other than a 503 problem with Retry-After, a hang, a non-problem
        error; connection errors too unless the gateway was taken down."""
        bad = []
        for a in self.answers:
            if a.status is None:
                if a.error.startswith("timeout") or not gateway_down:
                    bad.append(a)
            elif a.status >= 500 and not (a.status == 503 and a.problem and a.retry_after and a.code in OUTAGE_CODES):
                bad.append(a)
            elif a.status >= 400 and not a.problem:
                bad.append(a)
        return bad

    def summary(self) -> Counter[str]:
        return Counter(f"{a.what} {a.status or a.error} {a.code}".strip() for a in self.answers)


async def check_nothing_lost_or_doubled(
    stack: Stack, portal_id: str, receiver: Any, orders: list[Order], timeout: float = 90
) -> None:
    """Once every fault is over: each payment paid at the hub is paid once in the gateway, with one receipt;
    receipt numbers have no gap and no repeat; every event of the portal reached the webhook (after dedupe)."""
    assert stack.db is not None
    db = stack.db
    paid = [o.payment["id"] for o in orders if o.payment is not None and o.paid_at_hub]
    by_dossier = Counter(o.body["dossier_code"] for o in orders if o.payment is not None)
    mine = ot.outbox.c.portal_id == portal_id

    async def settled() -> bool:
        async with db.read() as conn:
            statuses = dict(
                (
                    await conn.execute(select(pt.payments.c.id, pt.payments.c.status).where(pt.payments.c.id.in_(paid)))
                ).all()
            )
            receipted = set(
                (await conn.execute(select(rt.receipts.c.source_id).where(rt.receipts.c.source_id.in_(paid)))).scalars()
            )
            undelivered = (
                await conn.execute(
                    select(func.count()).select_from(ot.outbox).where(mine, ot.outbox.c.dispatch_state != "delivered")
                )
            ).scalar_one()
        return all(statuses.get(p) == "paid" for p in paid) and receipted >= set(paid) and undelivered == 0

    try:
        await wait_for(settled, timeout=timeout, interval=0.5, what="every paid payment receipted and every event sent")
    except AssertionError as error:
        raise AssertionError(f"{error}; left: {await _left(db, paid, mine)}") from None
    async with db.read() as conn:
        dossiers = Counter(
            dict(
                (
                    await conn.execute(
                        select(pt.payments.c.dossier_code, func.count())
                        .where(pt.payments.c.dossier_code.in_(list(by_dossier)))
                        .group_by(pt.payments.c.dossier_code)
                    )
                ).all()
            )
        )
        groups = Counter(
            dict(
                (
                    await conn.execute(
                        select(
                            pt.ledger_entries.c.payment_id, func.count(func.distinct(pt.ledger_entries.c.entry_group))
                        )
                        .where(pt.ledger_entries.c.payment_id.in_(paid), pt.ledger_entries.c.refund_id.is_(None))
                        .group_by(pt.ledger_entries.c.payment_id)
                    )
                ).all()
            )
        )
        amounts = (
            await conn.execute(
                select(pt.payments.c.amount, pt.payments.c.paid_amount).where(pt.payments.c.id.in_(paid))
            )
        ).all()
        originals = Counter(
            (await conn.execute(select(rt.receipts.c.source_id).where(rt.receipts.c.source_id.in_(paid)))).scalars()
        )
        paid_events = Counter(
            (
                await conn.execute(
                    select(ot.outbox.c.resource_id).where(
                        ot.outbox.c.type == "payment.paid", ot.outbox.c.resource_id.in_(paid)
                    )
                )
            ).scalars()
        )
        events = set((await conn.execute(select(ot.outbox.c.id).where(mine))).scalars())
        await _numbers_without_gaps(conn)
    assert dossiers == by_dossier, "one payment per portal request, whatever was retried"
    assert groups == Counter(dict.fromkeys(paid, 1)), "each payment collected exactly once"
    assert all(a == p for a, p in amounts), "paid amounts equal the amounts asked"
    assert originals == Counter(dict.fromkeys(paid, 1)), "one receipt per payment"
    assert paid_events == Counter(dict.fromkeys(paid, 1)), "one payment.paid event per payment"
    missing = events - set(receiver.unique())
    assert not missing, f"{len(missing)} events never reached the webhook"


async def _left(db: Any, paid: list[str], mine: Any) -> dict[str, Any]:
    """What kept ``check_nothing_lost_or_doubled`` waiting: the paid payments not paid or not receipted, with their
    status, and the portal's events not delivered, with their dispatch state."""
    o = ot.outbox.c
    async with db.read() as conn:
        statuses = dict(
            (await conn.execute(select(pt.payments.c.id, pt.payments.c.status).where(pt.payments.c.id.in_(paid)))).all()
        )
        receipted = set(
            (await conn.execute(select(rt.receipts.c.source_id).where(rt.receipts.c.source_id.in_(paid)))).scalars()
        )
        events = (
            await conn.execute(
                select(o.id, o.type, o.dispatch_state, o.attempts, o.next_attempt_at, o.claimed_until, o.last_error)
                .where(mine, o.dispatch_state != "delivered")
                .limit(20)
            )
        ).all()
    return {
        "not paid": {p: statuses.get(p) for p in paid if statuses.get(p) != "paid"},
        "not receipted": sorted(set(paid) - receipted),
        "undelivered events": [tuple(str(v) for v in row) for row in events],
    }


async def _numbers_without_gaps(conn: Any) -> None:
    for row in (await conn.execute(select(rt.receipt_series))).all():
        numbers = sorted(
            (
                await conn.execute(
                    select(rt.receipts.c.number).where(
                        rt.receipts.c.tax_code == row.tax_code,
                        rt.receipts.c.template == row.template,
                        rt.receipts.c.series == row.series,
                    )
                )
            ).scalars()
        )
        assert numbers == list(range(1, row.last_number + 1)), f"receipt numbers of {row.series}: gap or repeat"
