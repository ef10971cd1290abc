"""The dossier view composed from the areas' public surfaces, on SQLite: a paid payment from the payments area and
its receipt from the snapshot in its latest event; another portal, or a dossier with nothing, is not found."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters.vntime import now_utc
from gateway import portals
from gateway.dossiers.service import show
from gateway.kernel.collected import PAYMENT
from gateway.kernel.errors import Refused
from gateway.payments import PaymentCollections
from gateway.receipts import AgencyKeys, ReceiptIssuer
from gateway.settings import Settings
from gateway.shipments import CodCollections
from receipts import SigningKey, generate_demo
from tests.support.collected_money import FEE, T0, agency_and_portal, migrated_sqlite, paid_payment
from tests.support.stack import AGENCY


def signing_key(folder: Path) -> SigningKey:
    key_pem, cert_pem = generate_demo("Dossier", AGENCY.name, 365, not_before=now_utc() - timedelta(days=1))
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    return SigningKey.from_pem(folder / "key.pem", folder / "cert.pem")


async def test_a_dossier_shows_its_payment_its_receipt_and_its_totals(tmp_path: Path) -> None:
    async with migrated_sqlite(tmp_path) as db:
        agency_id, portal_id = await agency_and_portal(db)
        payment_id = await paid_payment(db, portal_id, agency_id)
        keys = AgencyKeys({AGENCY.code: signing_key(tmp_path)})
        issuer = ReceiptIssuer(db, keys, Settings(payhub_hash_key="x"), (PaymentCollections(), CodCollections()))
        receipt_id = await issuer.issue(PAYMENT, payment_id, T0)
        dossier_code = f"HS-{payment_id[-6:]}"

        view = await show(db, portal_id, dossier_code)

        assert [p.id for p in view.payments] == [payment_id]
        assert [r["id"] for r in view.receipts] == [receipt_id] and view.shipments == []
        assert (view.totals.paid, view.totals.net_paid, view.totals.due) == (2 * FEE, 2 * FEE, 0)
        assert view.last_event is not None and view.last_event.type == "receipt.issued"
        _, other_key = await portals.create_portal(db, "Cổng khác", [AGENCY.code])
        other = await portals.authenticate(db, other_key)
        assert other is not None
        for portal, code in ((other.portal_id, dossier_code), (portal_id, "HS-NOTHING")):
            with pytest.raises(Refused) as refused:
                await show(db, portal, code)
            assert refused.value.code == "not_found"
