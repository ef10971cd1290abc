"""Every message both ways: what the adapter builds the sandbox reads, and what the sandbox signs the adapter reads."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.payhub import (
    CallbackRejected,
    FeeItem,
    InitOrder,
    Outcome,
    ReceiptInfo,
    RefundOrder,
    Reply,
    build_confirm_ack,
    parse_confirm,
    read_return,
)
from adapters.payhub import messages as wire
from adapters.payhub.sandbox import protocol
from adapters.payhub.sandbox.callbacks import judge
from adapters.payhub.sandbox.config import SandboxConfig
from adapters.payhub.sandbox.protocol import Refused
from adapters.payhub.sandbox.state import Ledger, Order, OrderRequest, RefundAnswer

KEY = "unit-key"
PARTNER = "DVC-UNIT-01"
CONFIG = SandboxConfig(hash_key=KEY, partner_code=PARTNER)
NOW = datetime(2026, 11, 22, 1, 30, 15, tzinfo=UTC)

references = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=20)
fee_amounts = st.lists(st.integers(1, 50_000_000), min_size=1, max_size=6)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)


def receipt_with(amounts: list[int], fee_name: str = "Lệ phí") -> ReceiptInfo:
    lines = [
        FeeItem(LoaiPhiLePhi=1 + i % 2, MaPhiLePhi=f"F{i}", TenPhiLePhi=fee_name, SoTien=a)
        for i, a in enumerate(amounts)
    ]
    return ReceiptInfo(MaHoSo="H26-0001", MaDonVi="000.00.01.H26", TenDonVi="Sở Tư pháp", PhiLePhi=lines)


def init_of(reference: str, amounts: list[int], total: int | None = None, fee_name: str = "Lệ phí") -> InitOrder:
    return InitOrder(
        reference=reference,
        amount=sum(amounts) if total is None else total,
        description="Nộp lệ phí",
        client_ip="203.0.113.7",
        receipt=receipt_with(amounts, fee_name),
        sent_at=NOW,
    )


def hub_reads_init(order: InitOrder) -> OrderRequest:
    message = msgspec.json.decode(msgspec.json.encode(wire.build_init(order, PARTNER, KEY)))
    protocol.check_signed("init", message, CONFIG)
    return protocol.read_init(message)


def paid_order(reference: str = "REF-1", amount: int = 150_000, result: str = "00") -> tuple[Ledger, Order]:
    ledger = Ledger()
    _, order = ledger.open(OrderRequest(reference, amount, receipt_with([amount]), "Nộp lệ phí"), NOW)
    assert order is not None
    ledger.conclude(order, result, "VCB", NOW)
    return ledger, order


@given(references, fee_amounts, names)
def test_init_built_by_the_adapter_is_read_by_the_hub(reference: str, amounts: list[int], fee_name: str) -> None:
    request = hub_reads_init(init_of(reference, amounts, fee_name=fee_name))

    assert request.reference == reference
    assert request.amount == sum(amounts)
    assert [line.SoTien for line in request.receipt.PhiLePhi] == amounts
    assert request.receipt.PhiLePhi[0].TenPhiLePhi == fee_name


@given(references, fee_amounts, st.integers(1, 1000))
def test_init_whose_total_is_not_the_sum_is_refused_with_03(reference: str, amounts: list[int], extra: int) -> None:
    with pytest.raises(Refused) as refusal:
        hub_reads_init(init_of(reference, amounts, total=sum(amounts) + extra))

    assert refusal.value.code is Reply.AMOUNT_MISMATCH


def test_init_with_a_field_changed_after_signing_is_refused_with_01() -> None:
    message = wire.build_init(init_of("REF-1", [150_000]), PARTNER, KEY)
    message["Ip"] = "198.51.100.1"

    with pytest.raises(Refused) as refusal:
        protocol.check_signed("init", message, CONFIG)

    assert refusal.value.code is Reply.BAD_CHECKSUM


def test_init_without_a_dossier_code_is_refused() -> None:
    order = init_of("REF-1", [150_000])
    order = InitOrder(**{**order.__dict__, "receipt": msgspec.structs.replace(order.receipt, MaHoSo=" ")})

    with pytest.raises(Refused) as refusal:
        hub_reads_init(order)

    assert refusal.value.code is Reply.OTHER


@given(references, st.integers(1, 10**12), st.sampled_from(["00", "24", "51", "99"]))
def test_confirm_signed_by_the_hub_is_read_by_the_adapter(reference: str, amount: int, result: str) -> None:
    _, order = paid_order(reference, amount, result)
    body = msgspec.json.encode(protocol.confirm(order, PARTNER, KEY))

    read = parse_confirm(body, PARTNER, KEY)

    assert (read.reference, read.amount, read.raw_code) == (reference, amount, result)
    assert read.transaction_id == order.transaction_id
    assert read.occurred_at == NOW
    assert isinstance(msgspec.json.decode(body)["SoTien"], int)


def test_confirm_with_the_amount_as_a_string_is_accepted() -> None:
    _, order = paid_order()
    message = protocol.confirm(order, PARTNER, KEY)
    message["SoTien"] = str(message["SoTien"])

    assert parse_confirm(msgspec.json.encode(message), PARTNER, KEY).amount == 150_000


def test_confirm_for_another_partner_is_refused() -> None:
    _, order = paid_order()
    body = msgspec.json.encode(protocol.confirm(order, "DVC-OTHER", KEY))

    with pytest.raises(CallbackRejected) as refusal:
        parse_confirm(body, PARTNER, KEY)

    assert refusal.value.reply is Reply.BAD_CHECKSUM


@pytest.mark.parametrize("reply", list(Reply))
def test_confirm_ack_built_by_the_adapter_is_judged_by_the_hub(reply: Reply) -> None:
    ack = build_confirm_ack(reply, PARTNER, "REF-1", NOW, KEY)
    body = msgspec.json.encode(ack)

    verdict = judge(200, body, KEY)

    assert verdict.verified and verdict.reply_code == reply.value
    assert verdict.final == (reply is not Reply.OTHER)
    assert not judge(500, body, KEY).final
    assert not judge(200, body, "another-key").final


def test_init_reply_signed_by_the_hub_is_read_by_the_adapter() -> None:
    body = msgspec.json.encode(protocol.init_reply("00", "REF-1", "http://127.0.0.1:8101/checkout/t", NOW, KEY))

    reply = wire.parse_init_reply(body, KEY)

    assert (reply.MaLoi, reply.UrlThanhToan) == ("00", "http://127.0.0.1:8101/checkout/t")
    with pytest.raises(wire.ProtocolError):
        wire.parse_init_reply(body.replace(b"checkout/t", b"checkout/u"), KEY)


@pytest.mark.parametrize(("result", "outcome"), [("00", Outcome.PAID), ("51", Outcome.FAILED), ("24", Outcome.EXPIRED)])
def test_bill_reply_signed_by_the_hub_is_read_by_the_adapter(result: str, outcome: Outcome) -> None:
    _, order = paid_order(result=result)

    read = wire.parse_query_reply(msgspec.json.encode(protocol.bill_reply("REF-1", order, KEY)), "REF-1", KEY)

    assert (read.outcome, read.amount, read.transaction_id, read.occurred_at) == (
        outcome,
        150_000,
        order.transaction_id,
        NOW,
    )


def test_unknown_reference_bill_reply_is_read_as_such() -> None:
    body = msgspec.json.encode(protocol.bill_reply("REF-404", None, KEY))

    assert wire.parse_query_reply(body, "REF-404", KEY).outcome is Outcome.UNKNOWN_REFERENCE


def test_query_and_refund_built_by_the_adapter_are_read_by_the_hub() -> None:
    query = wire.build_query("REF-1", PARTNER, NOW, KEY)
    refund = wire.build_refund(RefundOrder("REF-1", "HUB1", "RF-1", 50_000, "Thu thừa", NOW), PARTNER, KEY)
    protocol.check_signed("getbill", query, CONFIG)
    protocol.check_signed("refund", refund, CONFIG)

    assert protocol.read_query(query) == "REF-1"
    assert protocol.read_refund(refund) == protocol.RefundRequest("REF-1", "HUB1", "RF-1", 50_000, "Thu thừa")


def test_refund_reply_signed_by_the_hub_is_read_by_the_adapter() -> None:
    ledger, order = paid_order()
    answer = ledger.refund("REF-1", order.transaction_id, "RF-1", 50_000, "", NOW)

    reply = wire.parse_refund_reply(msgspec.json.encode(protocol.refund_reply("RF-1", answer, KEY)), "RF-1", KEY)
    refused = protocol.refund_reply("RF-2", RefundAnswer(Reply.AMOUNT_MISMATCH), KEY)

    assert (reply.MaLoi, reply.TrangThai) == ("00", "1")
    assert wire.parse_refund_reply(msgspec.json.encode(refused), "RF-2", KEY).MaLoi == "03"


def test_return_query_signed_by_the_hub_verifies_for_the_adapter() -> None:
    _, order = paid_order()
    params = protocol.return_params(order, KEY)

    shown = read_return(params, KEY)

    assert shown.verified and (shown.code, shown.amount) == ("00", "150000")
    assert not read_return({**params, "SoTien": "1500000"}, KEY).verified


def test_settlement_request_built_by_the_adapter_is_accepted_by_the_hub() -> None:
    params = wire.build_settlement_params("20261122", PARTNER, NOW, KEY)

    protocol.check_settlement_request("20261122", params, CONFIG)
    with pytest.raises(Refused):
        protocol.check_settlement_request("20261123", params, CONFIG)


@given(st.integers(0, 10**15))
def test_amounts_read_alike_in_both_wire_forms(amount: int) -> None:
    assert wire.parse_amount(amount) == wire.parse_amount(str(amount)) == amount


@given(
    st.one_of(
        st.text().filter(lambda s: not (s.isascii() and s.isdigit())),
        st.integers(max_value=-1),
        st.booleans(),
        st.floats(),
        st.none(),
    )
)
def test_anything_but_whole_dong_is_not_an_amount(value: object) -> None:
    with pytest.raises(wire.ProtocolError):
        wire.parse_amount(value)  # type: ignore[arg-type]
