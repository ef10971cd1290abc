"""The portal's corrections of a receipt on SQLite: cancel with a reason, replace by a corrected receipt, and what a
retry of the same attempt gets when the first attempt's answer was lost (the receipt it made, never a second
correction)."""

from __future__ import annotations

import secrets

import pytest

from adapters.vntime import now_utc
from gateway import portals
from gateway.kernel.attempts import Attempt
from gateway.kernel.collected import PAYMENT
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.payments import PaymentCollections
from gateway.receipts import AgencyKeys, ReceiptIssuer, ReceiptService
from gateway.receipts.repository import CANCELLED, ISSUED
from gateway.receipts.schemas import PayerCorrection, ReplaceReceipt
from gateway.settings import Settings
from gateway.shipments import CodCollections
from gateway.store import idempotency
from gateway.store.db import Database
from receipts import SigningKey
from tests.support.collected_money import T0, paid_payment
from tests.support.stack import AGENCY

SETTINGS = Settings(payhub_hash_key="x", receipt_batch=10)


async def issued(db: Database, key: SigningKey) -> tuple[PortalContext, str, ReceiptService]:
    """A portal, one of its paid payments receipted, and the correction service."""
    agency_id = await portals.upsert_agency(db, AGENCY)
    _, api_key = await portals.create_portal(db, "Cổng thử", [AGENCY.code])
    portal = await portals.authenticate(db, api_key)
    assert portal is not None
    payment_id = await paid_payment(db, portal.portal_id, agency_id)
    keys = AgencyKeys({AGENCY.code: key})
    receipt_id = await ReceiptIssuer(db, keys, SETTINGS, (PaymentCollections(), CodCollections())).issue(
        PAYMENT, payment_id, T0
    )
    assert receipt_id is not None
    return portal, receipt_id, ReceiptService(db, keys, SETTINGS)


async def attempt(db: Database, portal: PortalContext) -> Attempt:
    asked = idempotency.Request(portal.portal_id, secrets.token_hex(8), "POST", "/v1/receipts/x", "x")
    claimed = await idempotency.claim(db, asked, now_utc())
    assert isinstance(claimed, Attempt)
    return claimed


async def test_a_cancel_is_done_once_and_its_retry_gets_the_cancelled_receipt(
    sqlite_db: Database, signing_key: SigningKey
) -> None:
    portal, receipt_id, service = await issued(sqlite_db, signing_key)
    tried = await attempt(sqlite_db, portal)
    cancelled = await service.cancel(portal, tried, receipt_id, "Thu nhầm")
    assert cancelled.status == CANCELLED and cancelled.cancel_reason == "Thu nhầm"
    retried = await service.cancel(portal, Attempt(tried.owner, tried.key, cancelled.id), receipt_id, "Thu nhầm")
    assert retried.id == receipt_id and retried.status == CANCELLED
    with pytest.raises(Refused) as refused:
        await service.cancel(portal, await attempt(sqlite_db, portal), receipt_id, "Lần nữa")
    assert refused.value.code == "receipt_cancelled", "a new attempt on a cancelled receipt is refused"


async def test_a_replacement_refers_to_the_original_and_its_retry_gets_the_same_replacement(
    sqlite_db: Database, signing_key: SigningKey
) -> None:
    portal, receipt_id, service = await issued(sqlite_db, signing_key)
    tried = await attempt(sqlite_db, portal)
    data = ReplaceReceipt(reason="Sai tên người nộp", payer=PayerCorrection(name="Nguyễn Văn An"))
    replacement = await service.replace(portal, tried, receipt_id, data)
    assert replacement.id != receipt_id and replacement.status == ISSUED and replacement.replaces_id == receipt_id
    retried = await service.replace(portal, Attempt(tried.owner, tried.key, replacement.id), receipt_id, data)
    assert retried.id == replacement.id, "a retry answers with the replacement made, never a second one"
    original, _ = await service.get(portal, receipt_id)
    assert original.status == CANCELLED and original.replaced_by_id == replacement.id
