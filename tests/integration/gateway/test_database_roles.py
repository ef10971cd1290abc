"""The production database roles of docs/operations.md ("Database roles"), on PostgreSQL: the schema migrated by an
owner role, the application role given exactly the grants the page shows (its SQL block, run as written), and then
the gateway, connected as the application role, takes and records a payment and writes the staff audit trail, while
the same role can neither change nor remove an audit entry nor drop or disable the triggers that guard them."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
import pytest

from adapters.payhub import PayhubClient, PayhubConfig
from adapters.payhub.sandbox.app import create_app as hub_app
from adapters.payhub.sandbox.config import SandboxConfig
from adapters.vntime import now_utc
from gateway import portals, staff
from gateway.kernel.attempts import Attempt
from gateway.payments import HubResults, PaymentService, payment_by_reference
from gateway.payments.schemas import CreatePayment
from gateway.settings import load
from gateway.store import idempotency
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async
from tests.support.payhub_sandbox import served
from tests.support.services import POSTGRES_URL, create_pg_database, drop_pg_database
from tests.support.stack import AGENCY, payment_body
from tests.support.staff import add_staff

DOC = Path(__file__).parents[3] / "docs" / "operations.md"
MARKER = "<!-- app-role-grants:"
KEY = "roles-hash-key-" + secrets.token_hex(4)
PARTNER = "DVC-ROLES-01"


def grants_block() -> str:
    """The SQL block that follows the page's marker, as the page shows it."""
    text = DOC.read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    found = re.search(r"```sql\n(.*?)```", after, re.S)
    assert found is not None, "the grants block follows its marker"
    return found.group(1)


@dataclass
class Roles:
    owner: str
    app: str
    database: str

    def url(self, role: str, driver: str = "postgresql+asyncpg") -> str:
        parts = urlsplit(POSTGRES_URL)
        return f"{driver}://{role}@{parts.hostname}:{parts.port or 5432}/{self.database}"


@pytest.fixture
async def roles() -> AsyncIterator[Roles]:
    suffix = secrets.token_hex(4)
    made = Roles(f"gw_owner_{suffix}", f"gw_app_{suffix}", "")
    url = await create_pg_database()  # skips, or fails under CI, without PostgreSQL
    made.database = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        # as the page's one-time set-up does, with the test's own names
        await admin.execute(f"CREATE ROLE {made.owner} LOGIN")
        await admin.execute(f"CREATE ROLE {made.app} LOGIN")
        await admin.execute(f'ALTER DATABASE "{made.database}" OWNER TO {made.owner}')
        await admin.execute(f'REVOKE ALL ON DATABASE "{made.database}" FROM PUBLIC')
        await admin.execute(f'GRANT CONNECT ON DATABASE "{made.database}" TO {made.app}')
        yield made
    finally:
        await drop_pg_database(url)
        await admin.execute(f"DROP ROLE IF EXISTS {made.app}")
        await admin.execute(f"DROP ROLE IF EXISTS {made.owner}")
        await admin.close()


async def _migrated_and_granted(roles: Roles) -> None:
    await upgrade_async(roles.url(roles.owner))
    owner = await asyncpg.connect(roles.url(roles.owner, "postgresql"))
    try:
        block = grants_block().replace("gateway_owner", roles.owner).replace("gateway_app", roles.app)
        await owner.execute(block)
        await owner.execute(block)  # after a later migration, the same block again
    finally:
        await owner.close()


async def _a_paid_payment(db: Database) -> str:
    """A payment created, paid at the hub sandbox and recorded through the gateway's own code: its status."""
    await portals.upsert_agency(db, AGENCY)
    _, api_key = await portals.create_portal(db, "Cổng thử quyền", [AGENCY.code])
    portal = await portals.authenticate(db, api_key)
    assert portal is not None
    sandbox = hub_app(SandboxConfig(hash_key=KEY, partner_code=PARTNER, public_url="http://hub.local"))

    async def collected(_type: str, _id: str) -> None:
        return None

    results = HubResults(db, collected)
    with served(sandbox) as url:
        settings = load({"PAYHUB_HASH_KEY": KEY, "PAYHUB_PARTNER_CODE": PARTNER, "PAYHUB_URL": url})
        client = PayhubClient(PayhubConfig(url, PARTNER, KEY))
        try:
            asked = idempotency.Request(portal.portal_id, secrets.token_hex(8), "POST", "/v1/payments", "x")
            claimed = await idempotency.claim(db, asked, now_utc())
            assert isinstance(claimed, Attempt)
            service = PaymentService(db, client, results, settings)
            payment = await service.create(portal, claimed, msgspec.convert(payment_body(), CreatePayment))
            async with httpx.AsyncClient(base_url=url) as control:
                paid = await control.post(f"/control/payments/{payment.reference}/pay", json={})
                assert paid.status_code == 200
            await results.apply(await client.query(payment.reference), now_utc())
        finally:
            await client.aclose()
    async with db.read() as conn:
        found = await payment_by_reference(conn, payment.reference)
    assert found is not None
    return found.status


async def test_the_application_role_writes_payments_but_cannot_touch_the_audit_trail_or_its_guards(
    roles: Roles,
) -> None:
    await _migrated_and_granted(roles)
    db = Database.from_url(roles.url(roles.app))
    try:
        assert await _a_paid_payment(db) == "paid"
        await add_staff(db, "ke.toan", "officer", (AGENCY.code,))  # an account and its audit entry
        async with db.read() as conn:
            [entry] = await staff.history(conn, "staff", "ke.toan")
        assert entry.action == "staff.created"
    finally:
        await db.dispose()

    app = await asyncpg.connect(roles.url(roles.app, "postgresql"))
    try:
        for statement in (
            "UPDATE staff_audit SET note = 'sửa lại'",
            "DELETE FROM staff_audit",
            "TRUNCATE staff_audit",
            "DROP TRIGGER staff_audit_append_only ON staff_audit",
            "DROP TRIGGER staff_audit_not_truncated ON staff_audit",
            "ALTER TABLE staff_audit DISABLE TRIGGER ALL",
            "DROP FUNCTION staff_audit_append_only() CASCADE",
            "CREATE TABLE public.elsewhere (id int)",
            "UPDATE alembic_version SET version_num = version_num",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(statement)
        assert await app.fetchval("SELECT count(*) FROM staff_audit WHERE action = 'staff.created'") == 1
    finally:
        await app.close()
    owner = await asyncpg.connect(roles.url(roles.owner, "postgresql"))
    try:  # the guards are still there, for the owner too
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await owner.execute("DELETE FROM staff_audit")
    finally:
        await owner.close()
