"""The hostile-input corpus at the gateway's doors for documents: the hub's callback and the post's push. A
refused callback is answered with the hub's own reply code, a refused push with a problem, quickly, and neither
changes anything; a body past the size limit is refused before it is read."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import msgspec

from adapters.payhub.sandbox import protocol
from adapters.payhub.sandbox.state import Ledger, OrderRequest
from adapters.postal import webhook as signatures
from tests.support import hostile_corpus as corpus
from tests.support.api import counts, create
from tests.support.shipments import book
from tests.support.shipments import counts as shipment_counts
from tests.support.stack import HASH_KEY, PARTNER, POSTAL_SECRET, Stack
from tests.unit.adapters.payhub.test_payhub_messages import receipt_with
from tests.unit.hostile.test_document_corpus import TOLERATED

FAST = 2.0


def signed_confirm(reference: str, amount: int) -> dict:
    """The callback the hub would send for this payment, paid: every hostile case is built around it."""
    ledger = Ledger()
    now = datetime.now(UTC)
    _, order = ledger.open(OrderRequest(reference, amount, receipt_with([amount]), "Nộp lệ phí"), now)
    assert order is not None
    ledger.conclude(order, "00", "VCB", now)
    return protocol.confirm(order, PARTNER, HASH_KEY)


async def test_hostile_hub_callbacks_get_the_hubs_refusal_and_change_nothing(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    payment = await create(api)
    before = await counts(stack)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        for name, body in corpus.json_documents(signed_confirm(payment["reference"], payment["amount"])):
            if name in TOLERATED:
                continue
            start = time.monotonic()
            json_type = {"Content-Type": "application/json"}
            response = await client.post("/callbacks/payhub", content=body, headers=json_type)
            assert time.monotonic() - start < FAST, name
            if len(body) > stack_body_limit():
                assert response.status_code == 413, name
                continue
            assert response.status_code == 200, (name, response.text)
            assert response.json()["MaLoi"] != "00", name
    assert await counts(stack) == before
    assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "pending"


def stack_body_limit() -> int:
    return 65536  # MAX_BODY_BYTES as the stack runs the gateway


async def test_hostile_postal_pushes_are_malformed_and_change_nothing(api: httpx.AsyncClient, stack: Stack) -> None:
    shipment = await book(api)
    valid = {
        "id": 900_000_001,
        "originalId": shipment["original_id"],
        "itemCode": shipment["item_code"],
        "saleOrderCode": shipment["id"],
        "status": 12,
        "statusName": "Đang phát",
        "time": "2025-08-01T09:30:00",
        "location": "Bưu cục Ba Đình",
        "note": "",
        "codAmount": 0,
    }
    before = (await shipment_counts(stack), await counts(stack))
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        for name, body in corpus.json_documents(valid):
            if name in TOLERATED:
                continue
            headers = {signatures.HEADER: signatures.sign(POSTAL_SECRET, int(time.time()), body)}
            start = time.monotonic()
            response = await client.post("/callbacks/postal", content=body, headers=headers)
            assert time.monotonic() - start < FAST, name
            if len(body) > stack_body_limit():
                assert response.status_code == 413, name
                continue
            assert response.status_code == 400, (name, response.text)
            assert response.json()["code"] == "postal_event_malformed", name
    assert (await shipment_counts(stack), await counts(stack)) == before
    assert msgspec.json.decode((await api.get(f"/v1/shipments/{shipment['id']}")).content)["status"] == "created"
