"""The demo data that ``gateway run`` seeds: one portal, one agency with a small fee catalogue, and a finance
officer of that agency for the /finance pages."""

from __future__ import annotations

from pathlib import Path

from adapters.vntime import now_utc
from gateway import portals, staff
from gateway.portals import AgencySpec, Fee, Procedure
from gateway.receipts import ensure_demo_key
from gateway.store.db import Database

DEMO_PORTAL = "Cổng dịch vụ công tỉnh (demo)"
DEMO_STAFF = "ketoan.demo"

DEMO_AGENCY = AgencySpec(
    code="000.00.01.H26",
    name="Ủy ban nhân dân phường Hoàn Kiếm",
    tax_code="0101234567",
    address="126 Hàng Trống, phường Hoàn Kiếm, thành phố Hà Nội",
    treasury_account="3511.0.1054321",
    treasury_bank_code="KBNN-HN",
    treasury_account_name="UBND phường Hoàn Kiếm",
    phone="02438253536",
    province_code="01",
    commune_code="00070",
    procedures=(
        Procedure(
            code="1.001193",
            name="Cấp bản sao trích lục hộ tịch",
            service_code="DVC-HT-01",
            service_name="Hộ tịch",
            fees=(Fee(code="LP-HT-01", kind=2, name="Lệ phí cấp bản sao trích lục", amount=8_000),),
        ),
        Procedure(
            code="1.004227",
            name="Cấp giấy chứng nhận đăng ký hộ kinh doanh",
            service_code="DVC-KD-01",
            service_name="Đăng ký kinh doanh",
            fees=(
                Fee(code="LP-KD-01", kind=2, name="Lệ phí cấp giấy chứng nhận đăng ký hộ kinh doanh", amount=100_000),
                Fee(code="PHI-KD-02", kind=1, name="Phí cung cấp thông tin đăng ký", amount=None),
            ),
        ),
    ),
)


def ensure_signing_key(folder: Path) -> Path:
    """The demo agency's self-signed receipt signing key (PKCS#12 + password file), made on the first run."""
    return ensure_demo_key(folder, DEMO_AGENCY.code, DEMO_AGENCY.name)


async def seed(db: Database, known_key: str | None) -> tuple[str, str]:
    """Seed once; later runs keep the portal and, when the caller still has it, its key. The demo portal may
    send webhooks to receivers on this machine (``WEBHOOK_PRIVATE_NETWORKS`` of ``gateway run``)."""
    await portals.upsert_agency(db, DEMO_AGENCY)
    portal_id = await portals.portal_named(db, DEMO_PORTAL)
    if portal_id is None:
        portal_id, api_key = await portals.create_portal(db, DEMO_PORTAL, [DEMO_AGENCY.code], label="demo")
    elif known_key and await portals.authenticate(db, known_key) is not None:
        api_key = known_key
    else:
        api_key = await portals.issue_key(db, portal_id, label="demo")
    await portals.set_private_webhooks(db, portal_id, True)
    return portal_id, api_key


async def seed_staff(db: Database, password: str) -> str:
    """The demo agency's finance officer, made once with ``password`` (the demo keeps it under ``var/``)."""
    if any(account.username == DEMO_STAFF for account in await staff.accounts(db)):
        return DEMO_STAFF
    await staff.create_account(
        db,
        staff.Passwords(),
        username=DEMO_STAFF,
        display_name="Kế toán (demo)",
        role="officer",
        agencies=[DEMO_AGENCY.code],
        password=password,
        now=now_utc(),
        actor="demo",
    )
    return DEMO_STAFF
