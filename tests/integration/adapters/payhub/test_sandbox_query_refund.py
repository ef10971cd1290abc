"""Query and refund against the running sandbox through the real client."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.payhub import HubRejected, Outcome, OutcomeUnknown, PayhubClient, PayhubConfig, RefundOrder
from tests.support.payhub_sandbox import KEY, PARTNER, Hub, init_order, pay, set_faults


def refund_order(reference: str, transaction_id: str, refund_reference: str, amount: int) -> RefundOrder:
    return RefundOrder(reference=reference, transaction_id=transaction_id, refund_reference=refund_reference,
                       amount=amount, reason="Hồ sơ không đủ điều kiện", sent_at=datetime.now(UTC))


async def paid_order(client: PayhubClient, control: httpx.AsyncClient, reference: str, amount: int) -> str:
    await client.init(init_order(reference, amount))
    return str((await pay(control, reference))["MaGiaoDich"])


async def test_unknown_reference_is_reported_as_such(client: PayhubClient) -> None:
    result = await client.query("REF-NEVER-SEEN")

    assert result.outcome is Outcome.UNKNOWN_REFERENCE


async def test_query_follows_an_order_from_open_to_paid(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    await client.init(init_order("REF-Q-PAID", 150_000))
    opened = await client.query("REF-Q-PAID")
    await pay(control, "REF-Q-PAID", result="processing")
    waiting = await client.query("REF-Q-PAID")
    paid = await pay(control, "REF-Q-PAID", bank_code="BIDV")
    settled = await client.query("REF-Q-PAID")

    assert opened.outcome is Outcome.NOT_PAID
    assert waiting.outcome is Outcome.PROCESSING
    assert settled.outcome is Outcome.PAID
    assert settled.amount == 150_000
    assert settled.transaction_id == paid["MaGiaoDich"]
    assert settled.bank_code == "BIDV"
    assert settled.occurred_at is not None


@pytest.mark.parametrize(("result", "outcome"), [
    ("51", Outcome.FAILED), ("99", Outcome.FAILED), ("24", Outcome.EXPIRED),
])
async def test_query_reports_unsuccessful_results(
    client: PayhubClient, control: httpx.AsyncClient, result: str, outcome: Outcome
) -> None:
    reference = f"REF-Q-{result}"
    await client.init(init_order(reference, 30_000))
    await pay(control, reference, result=result)

    assert (await client.query(reference)).outcome is outcome


async def test_expired_order_cannot_be_paid(client: PayhubClient, control: httpx.AsyncClient) -> None:
    await client.init(init_order("REF-Q-EXP", 30_000))
    (await control.post("/payments/REF-Q-EXP/expire")).raise_for_status()

    late = await control.post("/payments/REF-Q-EXP/pay", json={})

    assert (await client.query("REF-Q-EXP")).outcome is Outcome.EXPIRED
    assert late.status_code == 409


async def test_full_refund_completes_at_once(client: PayhubClient, control: httpx.AsyncClient) -> None:
    transaction = await paid_order(client, control, "REF-R-FULL", 150_000)

    reply = await client.refund(refund_order("REF-R-FULL", transaction, "RF-FULL-1", 150_000))

    assert (reply.MaLoi, reply.TrangThai) == ("00", "1")
    assert (await client.query("REF-R-FULL")).outcome is Outcome.REFUNDED


async def test_partial_refunds_add_up_to_at_most_what_was_paid(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    transaction = await paid_order(client, control, "REF-R-PART", 150_000)

    first = await client.refund(refund_order("REF-R-PART", transaction, "RF-PART-1", 100_000))
    with pytest.raises(HubRejected) as beyond:
        await client.refund(refund_order("REF-R-PART", transaction, "RF-PART-2", 50_001))
    still_paid = await client.query("REF-R-PART")
    rest = await client.refund(refund_order("REF-R-PART", transaction, "RF-PART-3", 50_000))

    assert first.TrangThai == "1"
    assert beyond.value.code == "03"
    assert still_paid.outcome is Outcome.PAID
    assert rest.TrangThai == "1"
    assert (await client.query("REF-R-PART")).outcome is Outcome.REFUNDED


async def test_repeated_refund_request_gets_its_first_answer(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    transaction = await paid_order(client, control, "REF-R-REP", 150_000)

    first = await client.refund(refund_order("REF-R-REP", transaction, "RF-REP-1", 150_000))
    again = await client.refund(refund_order("REF-R-REP", transaction, "RF-REP-1", 150_000))
    view = (await control.get("/payments/REF-R-REP")).json()

    assert (again.MaLoi, again.TrangThai) == (first.MaLoi, first.TrangThai)
    assert len(view["refunds"]) == 1


async def test_refund_of_an_unknown_transaction_is_refused_with_02(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    await paid_order(client, control, "REF-R-UNK", 150_000)

    with pytest.raises(HubRejected) as refusal:
        await client.refund(refund_order("REF-R-UNK", "HUB-NOT-THIS-ONE", "RF-UNK-1", 1_000))

    assert refusal.value.code == "02"


async def test_processing_refund_stays_processing_until_completed(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    transaction = await paid_order(client, control, "REF-R-PROC", 150_000)
    await set_faults(control, {"refund": {"processing": True}})
    order = refund_order("REF-R-PROC", transaction, "RF-PROC-1", 150_000)

    accepted = await client.refund(order)
    repeated = await client.refund(order)
    completed = await control.post("/refunds/RF-PROC-1/complete")
    after = await client.refund(order)

    assert (accepted.MaLoi, accepted.TrangThai) == ("00", "3")
    assert repeated.TrangThai == "3"
    assert completed.json()["TrangThai"] == "1"
    assert (after.MaLoi, after.TrangThai) == ("00", "1")
    assert (await client.query("REF-R-PROC")).outcome is Outcome.REFUNDED


async def test_query_and_refund_faults_are_unknown_outcomes(
    hub: Hub, client: PayhubClient, control: httpx.AsyncClient
) -> None:
    transaction = await paid_order(client, control, "REF-R-FAULT", 150_000)
    await set_faults(control, {"query": {"http_status": 503}, "refund": {"stall_seconds": 1.0}})
    impatient = PayhubClient(PayhubConfig(base_url=hub.url, partner_code=PARTNER, hash_key=KEY,
                                          read_timeout=0.2))
    try:
        with pytest.raises(OutcomeUnknown):
            await client.query("REF-R-FAULT")
        with pytest.raises(OutcomeUnknown):
            await impatient.refund(refund_order("REF-R-FAULT", transaction, "RF-FAULT-1", 10_000))
    finally:
        await impatient.aclose()
    await control.delete("/faults")

    answer = await client.refund(refund_order("REF-R-FAULT", transaction, "RF-FAULT-1", 10_000))
    view = (await control.get("/payments/REF-R-FAULT")).json()

    assert answer.TrangThai == "1"
    assert [r["MaYeuCauHoan"] for r in view["refunds"]] == ["RF-FAULT-1"]
