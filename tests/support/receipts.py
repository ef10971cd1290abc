"""Helpers for the receipt tests: a paid payment and its receipt, checks of whole series, libxmlsec1's verdict."""

from __future__ import annotations

from typing import Any

import httpx
import xmlsec
from lxml import etree
from sqlalchemy import select

from adapters.vntime import now_utc
from gateway.store.tables.receipts import receipts
from tests.support.api import create, pay, wait_status
from tests.support.services import wait_for
from tests.support.stack import AGENCY, Stack


async def paid_payment(api: httpx.AsyncClient, hub: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    payment = await create(api, **overrides)
    await pay(hub, payment["reference"])
    return await wait_status(api, payment["id"], "paid")


async def receipt_of(api: httpx.AsyncClient, payment_id: str, timeout: float = 20) -> dict[str, Any]:
    """The payment's original receipt, once the worker has issued it."""

    async def issued() -> dict[str, Any] | None:
        found = (await api.get(f"/v1/payments/{payment_id}/receipts")).json()
        return found[0] if found else None

    return await wait_for(issued, timeout=timeout, what=f"the receipt of {payment_id}")  # type: ignore[no-any-return]


async def receipt_rows(stack: Stack, *where: Any) -> list[Any]:
    assert stack.db is not None
    async with stack.db.read() as conn:
        return list((await conn.execute(select(receipts).where(*where))).all())


async def assert_series_gap_free(stack: Stack) -> None:
    """Every series of every agency holds exactly the numbers 1..n, each once."""
    by_series: dict[tuple[str, str, str], list[int]] = {}
    for row in await receipt_rows(stack):
        by_series.setdefault((row.tax_code, row.template, row.series), []).append(row.number)
    for series, numbers in by_series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap or repeat in {series}"


def xmlsec_verifies(document: bytes, cert_pem: bytes) -> bool:
    """libxmlsec1's verdict (an implementation independent of ours), trusting only ``cert_pem``'s key."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    xmlsec.tree.add_ids(root, ["Id"])
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    if node is None:
        return False
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
    try:
        context.verify(node)
    except xmlsec.Error:
        return False
    return True


def agency_trust(stack: Stack) -> dict[str, list[Any]]:
    """What ``receipts.verify`` is to trust: the certificate the stack's agency signs with, from its own file."""
    from gateway.receipts.keys import load_one

    return {AGENCY.tax_code: [load_one(stack.receipt_keys_dir, AGENCY.code, now_utc()).certificate]}


def agency_certificate_pem(stack: Stack, agency_code: str) -> bytes:
    """The certificate the stack's agency signs with, read from its PKCS#12 file as an operator would."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from gateway.receipts.keys import load_one

    return load_one(stack.receipt_keys_dir, agency_code, now_utc()).certificate.public_bytes(Encoding.PEM)


async def background_settled(stack: Stack, timeout: float = 30) -> None:
    """Wait until the worker's receipt sweeper has nothing left to do: every collected payment and every COD
    collection has its receipt (or is held with a reason), no fully refunded payment's receipt is still in force,
    and no partly refunded one's states more than was kept. Snapshots taken then are stable."""
    from sqlalchemy import and_, func

    from gateway.store.tables import payments as pt
    from gateway.store.tables import shipments as st
    from gateway.store.tables.receipts import unissued_receipts

    p, r, c, u = pt.payments.c, receipts.c, st.cod_collections.c, unissued_receipts.c

    def waiting(source_type: str, source_id: Any) -> Any:
        """Neither receipted nor held: the sweeper's next run issues it."""
        receipted = select(r.id).where(r.source_type == source_type, r.source_id == source_id, r.revision == 0)
        held = select(u.source_id).where(u.source_type == source_type, u.source_id == source_id)
        return and_(~receipted.exists(), ~held.exists())

    unreceipted = (
        select(func.count())
        .select_from(pt.payments)
        .where(p.status.in_(["paid", "partially_refunded", "refunded"]), waiting("payment", p.id))
    )
    cod_unreceipted = select(func.count()).select_from(st.cod_collections).where(waiting("cod", c.id))
    refunded_in_force = (
        select(func.count())
        .select_from(pt.payments.join(receipts, and_(r.source_type == "payment", r.source_id == p.id)))
        .where(p.status == "refunded", r.status == "issued")
    )

    overstated = (  # in force, stating more than a partly refunded payment kept: the sweeper replaces it
        select(func.count())
        .select_from(pt.payments.join(receipts, and_(r.source_type == "payment", r.source_id == p.id)))
        .where(
            p.status == "partially_refunded",
            r.status == "issued",
            r.total > p.paid_amount - p.refunded_amount,
        )
    )
    queries = (unreceipted, cod_unreceipted, refunded_in_force, overstated)

    async def idle() -> bool:
        assert stack.db is not None
        async with stack.db.read() as conn:
            counts = [(await conn.execute(q)).scalar_one() for q in queries]
        return counts == [0, 0, 0, 0]

    await wait_for(idle, timeout=timeout, what="the receipt sweeper to settle")
