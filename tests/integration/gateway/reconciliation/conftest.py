"""A world for reconciliation runs, on PostgreSQL and on SQLite: a migrated database of the test's own with an
agency and a portal, the hub's and the post's sandboxes served in this process over HTTP (the real protocols, the
hub's settlement files), payments made, paid and refunded through the payments area, and the settlement runs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from adapters.payhub import PayhubClient, PayhubConfig
from adapters.payhub.sandbox.app import create_app as hub_app
from adapters.payhub.sandbox.config import SandboxConfig
from adapters.postal import PostalClient, PostalConfig
from adapters.postal.sandbox import create_app as post_app
from adapters.postal.sandbox.config import SandboxConfig as PostConfig
from adapters.vntime import VN_TZ, business_day, now_utc
from gateway import portals
from gateway.kernel.attempts import Attempt
from gateway.kernel.portal import PortalContext
from gateway.payments import HubResults, PaymentService, RefundService
from gateway.payments.schemas import CreatePayment, CreateRefund
from gateway.reconciliation import CodRuns, Recorded, SettlementRuns
from gateway.settings import Settings, load
from gateway.shipments import ShipmentService
from gateway.shipments.schemas import CreateShipment
from gateway.store import idempotency
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from gateway.store.tables import reconciliation as rt
from gateway.store.tables import staff as stt
from tests.support.payhub_sandbox import served
from tests.support.services import create_pg_database, drop_pg_database
from tests.support.shipments import shipment_body
from tests.support.stack import AGENCY, payment_body

KEY = "recon-hash-key-" + secrets.token_hex(4)
PARTNER = "DVC-RECON-01"
HUB = "http://hub.local"
POST_LOGIN = PostConfig()
COD = 300_000  # the post keeps its fee (10,000 đ at least) from it


def vn(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=VN_TZ)


@dataclass
class World:
    db: Database
    database_url: str
    control: httpx.AsyncClient  # the sandbox's control API
    client: PayhubClient
    settings: Settings
    portal: PortalContext
    payments: PaymentService
    results: HubResults
    runs: SettlementRuns
    today: date
    post: PostalClient
    post_control: httpx.AsyncClient
    shipments: ShipmentService
    cod_runs: CodRuns
    refunds: RefundService

    async def delivered(self, *, recorded: bool = True) -> tuple[str, str]:
        """A shipment with COD, delivered by the post (and the post's feed read, unless not ``recorded``):
        (shipment id, S10 item code)."""
        asked = idempotency.Request(self.portal.portal_id, secrets.token_hex(8), "POST", "/v1/shipments", "x")
        claimed = await idempotency.claim(self.db, asked, now_utc())
        assert isinstance(claimed, Attempt)
        body = msgspec.convert(shipment_body(cod_amount=COD), CreateShipment)
        booked = await self.shipments.create(self.portal, claimed, body)
        advanced = await self.post_control.post(
            f"/control/orders/{booked.original_id}/advance", json={"scenario": "deliver"}
        )
        advanced.raise_for_status()
        if recorded:
            await self.shipments.tracking.poll(self.post, page_size=100, max_pages=10)
        assert booked.item_code
        return booked.id, booked.item_code

    async def attempt(self, path: str) -> Attempt:
        asked = idempotency.Request(self.portal.portal_id, secrets.token_hex(8), "POST", path, secrets.token_hex(8))
        claimed = await idempotency.claim(self.db, asked, now_utc())
        assert isinstance(claimed, Attempt)
        return claimed

    async def payment(self) -> Any:
        """A payment created through the payments area: pending at the hub."""
        claimed = await self.attempt("/v1/payments")
        return await self.payments.create(self.portal, claimed, msgspec.convert(payment_body(), CreatePayment))

    async def refunded(self, payment: Any, amount: int) -> tuple[Any, str]:
        """A refund of ``payment`` through the gateway's refund path, done by the hub now: (refund, the hub's
        transaction id of it, which its settlement row carries)."""
        claimed = await self.attempt(f"/v1/payments/{payment.id}/refunds")
        wanted = CreateRefund(amount=amount, reason="Hoàn lệ phí nộp thừa")
        refund, status = await self.refunds.request(self.portal, claimed, payment.id, wanted)
        assert status.value == "succeeded"
        order = (await self.control.get(f"/control/payments/{payment.reference}")).json()
        [done] = [r for r in order["refunds"] if r["MaYeuCauHoan"] == refund.reference]
        return refund, str(done["MaGiaoDich"])

    async def pay_at_hub(self, reference: str, at: datetime) -> str:
        """The citizen pays at ``at``; the hub's transaction id."""
        response = await self.control.post(f"/control/payments/{reference}/pay", json={"paid_at": at.isoformat()})
        response.raise_for_status()
        return str(response.json()["MaGiaoDich"])

    async def paid(self, at: datetime) -> tuple[Any, str]:
        """A payment paid at ``at``, the hub's answer applied as its callback would be: (payment, transaction)."""
        payment = await self.payment()
        transaction = await self.pay_at_hub(payment.reference, at)
        await self.results.apply(await self.client.query(payment.reference), now_utc())
        return payment, transaction

    async def run(self, day: date, **options: Any) -> Recorded:
        """A settlement run of ``day``, with the hub's clock past the hour every file up to today's is published."""
        tomorrow = vn(self.today + timedelta(days=1), 2).isoformat()
        (await self.control.put("/control/clock", json={"now": tomorrow})).raise_for_status()
        try:
            return await self.runs.run(day, **options)
        finally:
            (await self.control.delete("/control/clock")).raise_for_status()

    async def edit(self, day: date, **edit: Any) -> None:
        (await self.control.post(f"/control/settlements/{day:%Y%m%d}/rows", json=edit)).raise_for_status()

    async def breaks(self, *where: Any) -> list[dict[str, Any]]:
        b = rt.reconciliation_breaks.c
        async with self.db.read() as conn:
            rows = await conn.execute(select(rt.reconciliation_breaks).where(*where).order_by(b.key))
            return [row._asdict() for row in rows]

    async def totals(self) -> list[Any]:
        """The day totals rows of every run, by run and agency."""
        t = rt.reconciliation_totals.c
        async with self.db.read() as conn:
            return list(await conn.execute(select(rt.reconciliation_totals).order_by(t.run_id, t.agency_code)))

    async def count(self, table: Any, *where: Any) -> int:
        async with self.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())

    async def footprint(self) -> dict[str, Any]:
        """Everything reconciliation wrote, to compare before and after."""
        tables = (
            rt.reconciliation_runs,
            rt.reconciliation_totals,
            rt.reconciliation_breaks,
            rt.reconciliation_waiting,
            rt.reconciliation_days,
            stt.staff_audit,
        )
        async with self.db.read() as conn:
            return {t.name: sorted(map(repr, (await conn.execute(select(t))).all())) for t in tables}


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'recon.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


def world_settings(tmp_path: Path, **overrides: str) -> Settings:
    return load(
        {
            "PAYHUB_HASH_KEY": KEY,
            "PAYHUB_PARTNER_CODE": PARTNER,
            "PAYHUB_URL": HUB,
            "RECONCILIATION_DATA_DIR": str(tmp_path / "recon"),
            "RECONCILIATION_CUTOFF_DAYS": "0",
            "RECONCILIATION_COD_CUTOFF_DAYS": "0",
            **overrides,
        }
    )


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    with (
        served(hub_app(SandboxConfig(hash_key=KEY, partner_code=PARTNER, public_url=HUB))) as hub_url,
        served(post_app(POST_LOGIN)) as post_url,
    ):
        async with _world(database_url, tmp_path, hub_url, post_url) as world:
            yield world


@asynccontextmanager
async def _world(database_url: str, tmp_path: Path, hub_url: str, post_url: str) -> AsyncIterator[World]:
    await upgrade_async(database_url)
    db = Database.from_url(database_url)
    client = PayhubClient(PayhubConfig(hub_url, PARTNER, KEY))
    settings = world_settings(tmp_path, PAYHUB_URL=hub_url)
    today = business_day(datetime.now(UTC))
    post = PostalClient(PostalConfig(post_url, POST_LOGIN.username, POST_LOGIN.password, POST_LOGIN.customer_code))
    async with (
        httpx.AsyncClient(base_url=hub_url) as control,
        httpx.AsyncClient(base_url=post_url) as post_control,
    ):
        await portals.upsert_agency(db, AGENCY)
        _, api_key = await portals.create_portal(db, "Cổng thử", [AGENCY.code])
        portal = await portals.authenticate(db, api_key)
        assert portal is not None

        async def collected(_type: str, _id: str) -> None:
            return None

        results = HubResults(db, collected)
        payments = PaymentService(db, client, results, settings)
        runs = SettlementRuns(db, client, settings)
        try:
            yield World(
                db,
                database_url,
                control,
                client,
                settings,
                portal,
                payments,
                results,
                runs,
                today,
                post,
                post_control,
                ShipmentService(db, post),
                CodRuns(db, post, settings),
                RefundService(db, client),
            )
        finally:
            await client.aclose()
            await post.aclose()
            await db.dispose()


def hub_row(transaction: str, reference: str, day: date, hour: int = 9, agency: str = "") -> dict[str, Any]:
    """A row the hub's file gains by an ``add`` edit: the payment's 150,000 đồng, paid at ``hour`` on ``day``."""
    return {
        "MaGiaoDich": transaction,
        "MaThamChieu": reference,
        "MaDonVi": agency or AGENCY.code,
        "SoTien": 150_000,
        "ThoiGianThanhToan": f"{day:%Y%m%d}{hour:02d}0000",
    }
