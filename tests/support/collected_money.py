"""Collected money in a migrated SQLite store, for fast tests of the receipt issuer and its sources: an agency and a
portal, paid payments and COD collections written as their areas write them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from adapters.vntime import now_utc
from gateway.ids import new_hub_reference, new_id
from gateway.portals import service as portals
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from gateway.store.tables import payments as pt
from gateway.store.tables import shipments as st
from tests.support.stack import AGENCY

T0 = now_utc() + timedelta(minutes=1)  # after the test signing key's certificate starts
FEE = 8_000  # the catalogue's one fixed fee of AGENCY's first procedure
PROCEDURE = AGENCY.procedures[0].code


@asynccontextmanager
async def migrated_sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite store of its own, in ``tmp_path``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'collected.db'}"
    await upgrade_async(url)
    db = Database.from_url(url)
    try:
        yield db
    finally:
        await db.dispose()


async def agency_and_portal(db: Database) -> tuple[str, str]:
    agency_id = await portals.upsert_agency(db, AGENCY)
    portal_id, _ = await portals.create_portal(db, "Cổng thử", [AGENCY.code])
    return agency_id, portal_id


async def paid_payment(
    db: Database, portal_id: str, agency_id: str, *, status: str = "paid", refunded: int = 0, payer: str = "Nguyễn An"
) -> str:
    payment_id = new_id("pay")
    async with db.transaction() as tx:
        await tx.execute(
            pt.payments.insert().values(
                id=payment_id,
                portal_id=portal_id,
                agency_id=agency_id,
                reference=new_hub_reference(),
                dossier_code=f"HS-{payment_id[-6:]}",
                procedure_code=PROCEDURE,
                procedure_name="Cấp bản sao trích lục hộ tịch",
                service_code="DVC-HT-01",
                service_name="Hộ tịch",
                amount=FEE * 2,
                currency="VND",
                description="Lệ phí",
                status=status,
                payer_name=payer,
                return_url="https://portal.example/back",
                hub_transaction_id="HUB0001",
                paid_amount=FEE * 2,
                refunded_amount=refunded,
                expires_at=T0 + timedelta(hours=1),
                paid_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )
        for position, code in enumerate(("LP-A", "LP-B")):
            await tx.execute(
                pt.payment_lines.insert().values(
                    payment_id=payment_id, position=position, kind=2, code=code, name=f"Lệ phí {code}", amount=FEE
                )
            )
    return payment_id


async def delivered_shipment(db: Database, portal_id: str, agency_id: str, cod_amount: int) -> str:
    """A shipment the post has and is to deliver with ``cod_amount`` to collect."""
    shipment_id = new_id("shp")
    sides = {
        f"{side}_{name}": value
        for side in ("citizen", "agency")
        for name, value in (
            ("street", "1 Hàng Trống"),
            ("province_code", "01"),
            ("province_name", "Thành phố Hà Nội"),
            ("commune_code", "00070"),
            ("commune_name", "Phường Hoàn Kiếm"),
            ("admin_version", "2025-07"),
        )
    }
    async with db.transaction() as tx:
        await tx.execute(
            st.shipments.insert().values(
                id=shipment_id,
                portal_id=portal_id,
                agency_id=agency_id,
                dossier_code=f"HS-{shipment_id[-6:]}",
                procedure_code=PROCEDURE,
                direction="deliver_result",
                status="created",
                status_code=1,
                service_code="HCC",
                weight_grams=300,
                cod_amount=cod_amount,
                citizen_name="Trần Bình",
                citizen_phone="0912345678",
                agency_name=AGENCY.name,
                agency_phone="02438253536",
                original_id=f"OD-{shipment_id}",
                item_code="EB100000003VN",
                postage=16_500,
                created_at=T0,
                updated_at=T0,
                **sides,
            )
        )
    return shipment_id
