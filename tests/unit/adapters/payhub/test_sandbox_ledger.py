"""The sandbox ledger's rules: one order per reference, one result per order, refunds within what was paid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.payhub import FeeItem, ReceiptInfo, Reply
from adapters.payhub.sandbox.state import (
    EXPIRED,
    NOT_PAID,
    PAID,
    PROCESSING,
    REFUNDED,
    Ledger,
    LedgerError,
    Order,
    OrderRequest,
)

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def request(
    reference: str = "REF-1", amount: int = 150_000, dossier: str = "H26-0001", fee_amount: int | str | None = None
) -> OrderRequest:
    line = FeeItem(
        LoaiPhiLePhi=2, MaPhiLePhi="LP1", TenPhiLePhi="Lệ phí", SoTien=amount if fee_amount is None else fee_amount
    )
    receipt = ReceiptInfo(MaHoSo=dossier, MaDonVi="000.00.01.H26", TenDonVi="Sở Tư pháp", PhiLePhi=[line])
    return OrderRequest(reference=reference, amount=amount, receipt=receipt)


def paid(ledger: Ledger, amount: int = 150_000) -> Order:
    _, order = ledger.open(request(amount=amount), NOW)
    assert order is not None
    return ledger.conclude(order, "00", "VCB", NOW)


def test_repeat_with_the_same_content_is_the_same_order() -> None:
    ledger = Ledger()
    _, first = ledger.open(request(), NOW)
    code, again = ledger.open(request(fee_amount="150000"), NOW)  # the other wire form of the same amount

    assert code is Reply.OK
    assert again is first


@pytest.mark.parametrize("other", [request(amount=150_001), request(dossier="H26-0002")])
def test_repeat_with_other_content_is_refused(other: OrderRequest) -> None:
    ledger = Ledger()
    ledger.open(request(), NOW)

    assert ledger.open(other, NOW) == (Reply.UNKNOWN_REFERENCE, None)


def test_orders_are_found_by_their_checkout_token() -> None:
    ledger = Ledger()
    _, order = ledger.open(request(), NOW)

    assert order is not None
    assert ledger.by_token(order.token) is order
    assert ledger.by_token("unknown") is None


def test_an_order_gets_one_result() -> None:
    ledger = Ledger()
    order = paid(ledger)

    with pytest.raises(LedgerError):
        ledger.conclude(order, "24", "", NOW)
    with pytest.raises(LedgerError):
        ledger.expire(order)
    assert (order.state, order.result_code) == (PAID, "00")


def test_processing_order_can_still_be_concluded_but_not_after_expiry() -> None:
    ledger = Ledger()
    _, waiting = ledger.open(request("REF-W"), NOW)
    _, lapsed = ledger.open(request("REF-L"), NOW)
    assert waiting is not None and lapsed is not None

    ledger.hold(waiting)
    assert waiting.state == PROCESSING
    ledger.conclude(waiting, "00", "VCB", NOW)
    ledger.expire(lapsed)

    assert waiting.state == PAID
    assert lapsed.state == EXPIRED
    with pytest.raises(LedgerError):
        ledger.conclude(lapsed, "00", "VCB", NOW)


def test_transaction_ids_are_unique() -> None:
    ledger = Ledger()
    ids = set()
    for n in range(300):
        _, order = ledger.open(request(f"REF-{n}"), NOW)
        assert order is not None and order.state == NOT_PAID
        ids.add(ledger.conclude(order, "00", "VCB", NOW).transaction_id)

    assert len(ids) == 300


def test_refund_of_an_unpaid_order_is_unknown() -> None:
    ledger = Ledger()
    ledger.open(request(), NOW)

    assert ledger.refund("REF-1", "", "RF-1", 1, "", NOW).code is Reply.UNKNOWN_REFERENCE


@given(st.lists(st.tuples(st.integers(-10, 200_000), st.booleans()), max_size=12))
def test_refunds_never_exceed_what_was_paid(requests: list[tuple[int, bool]]) -> None:
    ledger = Ledger()
    order = paid(ledger, 150_000)
    accepted = 0
    for n, (amount, processing) in enumerate(requests):
        answer = ledger.refund("REF-1", order.transaction_id, f"RF-{n}", amount, "", NOW, processing=processing)
        fits = 0 < amount <= 150_000 - accepted
        assert answer.code is (Reply.OK if fits else Reply.AMOUNT_MISMATCH)
        accepted += amount if fits else 0
        assert ledger.refund("REF-1", order.transaction_id, f"RF-{n}", 1, "", NOW) == answer

    for refund in ledger.refunds():
        if refund.state == "3":
            ledger.complete_refund(refund.refund_reference, NOW)
    assert sum(r.amount for r in order.refunds) == accepted <= 150_000
    assert (order.state == REFUNDED) == (accepted == 150_000)


def test_processing_refund_completes_once() -> None:
    ledger = Ledger()
    order = paid(ledger)
    answer = ledger.refund("REF-1", order.transaction_id, "RF-1", 150_000, "", NOW, processing=True)

    assert (answer.code, answer.state, order.state) == (Reply.OK, "3", PAID)
    ledger.complete_refund("RF-1", NOW)
    assert (answer.state, order.state) == ("1", REFUNDED)
    with pytest.raises(LedgerError):
        ledger.complete_refund("RF-1", NOW)
    with pytest.raises(KeyError):
        ledger.complete_refund("RF-404", NOW)
