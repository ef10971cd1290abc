"""Building the post's requests and reading its replies: exact shapes, refusals and malformed pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.postal import messages, statements
from adapters.postal.addresses import validate_address
from adapters.postal.codes import ShipmentState
from adapters.postal.errors import InputError, OrderError, PhoneError, PostalProtocolError, PostalRejected
from adapters.postal.messages import CreateOrder, Party

CITIZEN = Party("Nguyễn Văn An", "+84 912 345 678", validate_address("01", "00008", "12 Liễu Giai"))
AGENCY = Party("Sở Tư pháp Hà Nội", "024 3825 1234", validate_address("01", "00004", "1 Phạm Hùng"))


def order(**changes: object) -> CreateOrder:
    fields: dict[str, object] = {
        "sale_order_code": "SHP-0001",
        "sender": AGENCY,
        "receiver": CITIZEN,
        "weight_grams": 350,
        "content_note": "Kết quả hồ sơ H01.23",
    }
    fields.update(changes)
    return CreateOrder(**fields)  # type: ignore[arg-type]


def encode(message: object) -> bytes:
    return msgspec.json.encode(message)


def test_create_order_is_built_exactly() -> None:
    built = messages.build_create_order(order(cod_amount=150_000))
    assert built == {
        "orderCreationStatus": 1,
        "type": "GUI",
        "informationOrder": {
            "saleOrderCode": "SHP-0001",
            "serviceCode": "HCC",
            "senderName": "Sở Tư pháp Hà Nội",
            "senderPhone": "02438251234",
            "senderAddress": "1 Phạm Hùng",
            "senderProvinceCode": "01",
            "senderCommuneCode": "00004",
            "senderProvinceName": "Thành phố Hà Nội",
            "senderCommuneName": "Phường Ba Đình",
            "receiverName": "Nguyễn Văn An",
            "receiverPhone": "0912345678",
            "receiverAddress": "12 Liễu Giai",
            "receiverProvinceCode": "01",
            "receiverCommuneCode": "00008",
            "receiverProvinceName": "Thành phố Hà Nội",
            "receiverCommuneName": "Phường Ngọc Hà",
            "weight": "350",
            "contentNote": "Kết quả hồ sơ H01.23",
            "deliveryInstruction": "",
            "addonService": [{"code": "COD", "propValue": "150000"}],
        },
    }


def test_no_cod_means_no_addon() -> None:
    assert "addonService" not in messages.build_create_order(order())["informationOrder"]


def test_cod_up_to_the_limit_is_accepted_and_above_it_refused() -> None:
    messages.build_create_order(order(cod_amount=50_000_000))
    with pytest.raises(OrderError) as caught:
        messages.build_create_order(order(cod_amount=50_000_001))
    assert caught.value.field == "cod_amount" and "50,000,000" in str(caught.value)


@pytest.mark.parametrize("weight", [0, -1, 30_001, 1.5, True, "300"])
def test_bad_weights_are_refused(weight: object) -> None:
    with pytest.raises(OrderError) as caught:
        messages.build_create_order(order(weight_grams=weight))
    assert caught.value.field == "weight_grams"


def test_bad_phone_service_and_reference_are_refused_with_the_field() -> None:
    with pytest.raises(PhoneError) as phone:
        messages.build_create_order(order(receiver=Party("An", "0123", CITIZEN.address)))
    assert phone.value.field == "receiver.phone"
    with pytest.raises(OrderError) as service:
        messages.build_create_order(order(service_code="EMS"))
    assert service.value.field == "service_code"
    with pytest.raises(OrderError):
        messages.build_create_order(order(sale_order_code=""))
    with pytest.raises(InputError) as name:
        messages.build_create_order(order(sender=Party(" ", AGENCY.phone, AGENCY.address)))
    assert name.value.field == "sender.name"


def test_token_reply_is_read_and_refusals_raised() -> None:
    token = messages.parse_token_reply(b'{"success":true,"token":"abc","expiresIn":3600}')
    assert (token.value, token.expires_in) == ("abc", 3600)
    assert "abc" not in repr(token)
    with pytest.raises(PostalRejected) as refused:
        messages.parse_token_reply(b'{"success":false,"errorCode":"LOGIN_FAILED","message":"sai"}')
    assert refused.value.code == "LOGIN_FAILED"
    for bad in (
        b"",
        b"[]",
        b'{"success":true}',
        b'{"success":"yes","token":"a","expiresIn":1}',
        b'{"success":true,"token":"","expiresIn":60}',
    ):
        with pytest.raises(PostalProtocolError):
            messages.parse_token_reply(bad)


def test_create_reply_checks_the_item_code_and_the_reference() -> None:
    good = {
        "success": True,
        "data": {
            "originalId": "OD1",
            "itemCode": "EB123456785VN",
            "saleOrderCode": "SHP-0001",
            "totalFee": 16500,
            "status": 1,
        },
    }
    assert messages.parse_create_reply(encode(good), "SHP-0001").itemCode == "EB123456785VN"
    with pytest.raises(PostalProtocolError):
        messages.parse_create_reply(encode(good), "SHP-0002")
    bad_code = {**good, "data": {**good["data"], "itemCode": "EB123456784VN"}}  # type: ignore[dict-item]
    with pytest.raises(PostalProtocolError, match="S10"):
        messages.parse_create_reply(encode(bad_code), "SHP-0001")
    with pytest.raises(PostalRejected) as refused:
        messages.parse_create_reply(b'{"success":false,"errorCode":"COD_LIMIT","message":"qua"}', "SHP-0001")
    assert refused.value.code == "COD_LIMIT"


def item(id_: int, status: int = 12, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": id_,
        "originalId": "OD1",
        "itemCode": "EB123456785VN",
        "saleOrderCode": "SHP-0001",
        "status": status,
        "statusName": "Đang phát",
        "time": "2025-08-01T09:30:00",
        "location": "Bưu cục Ba Đình",
        "note": "",
        "codAmount": 150000,
    }
    base.update(changes)
    return base


def test_a_feed_page_is_read_with_raw_codes_and_aware_times() -> None:
    page = messages.parse_tracking_page(encode({"items": [item(5), item(7, 14, statusName="")], "lastId": 7}), 4)
    assert page.last_id == 7
    first, second = page.events
    assert (first.event_id, first.code, first.text, first.state) == (5, 12, "Đang phát", ShipmentState.OUT_FOR_DELIVERY)
    assert first.time == datetime(2025, 8, 1, 2, 30, tzinfo=UTC)
    assert (second.code, second.state, second.text) == (14, ShipmentState.DELIVERED, "Phát thành công")
    assert second.cod_amount == 150000


def test_an_empty_page_keeps_the_cursor() -> None:
    assert messages.parse_tracking_page(b'{"items":[],"lastId":9}', 9).last_id == 9


@pytest.mark.parametrize(
    "page",
    [
        {"items": [item(5), item(5)], "lastId": 5},  # ids must increase
        {"items": [item(7), item(5)], "lastId": 7},
        {"items": [item(5)], "lastId": 4},  # cursor behind its items
        {"items": [], "lastId": 3},  # cursor moving back
        {"items": [item(5, 23)], "lastId": 5},  # status outside 0–22
        {"items": [item(5, itemCode="EB123456784VN")], "lastId": 5},
        {"items": [item(5, time="01/08/2025 09:30")], "lastId": 5},
        {"items": [item(5, codAmount=-1)], "lastId": 5},
        {"items": [item(5, codAmount="12a")], "lastId": 5},
        {"items": [item(5, originalId="")], "lastId": 5},
        {"items": [{"id": 5}], "lastId": 5},
        {"items": "none", "lastId": 5},
        {"lastId": 5},
    ],
)
def test_malformed_pages_are_protocol_errors(page: dict[str, object]) -> None:
    with pytest.raises(PostalProtocolError):
        messages.parse_tracking_page(encode(page), 4)


@given(st.binary(max_size=200))
def test_garbage_never_escapes_as_another_error(body: bytes) -> None:
    try:
        messages.parse_tracking_page(body, 0)
    except (PostalProtocolError, PostalRejected):
        pass


def test_a_pushed_event_is_read_like_a_feed_item() -> None:
    event = messages.parse_event(encode(item(11, 15, note="Người nhận vắng nhà")))
    assert (event.event_id, event.state, event.note) == (11, ShipmentState.DELIVERY_FAILED, "Người nhận vắng nhà")


def test_order_detail_keeps_the_history() -> None:
    body = {
        "success": True,
        "data": {
            "originalId": "OD1",
            "itemCode": "EB123456785VN",
            "saleOrderCode": "S",
            "status": 6,
            "codAmount": "0",
            "totalFee": 16500,
            "history": [
                {"status": 1, "time": "2025-08-01T08:00:00"},
                {"status": 6, "statusName": "Đã nhận", "time": "2025-08-01T09:00:00"},
            ],
        },
    }
    detail = messages.parse_order_reply(encode(body), "OD1")
    assert (detail.code, detail.state, detail.total_fee) == (6, ShipmentState.PICKED_UP, 16500)
    assert [h.code for h in detail.history] == [1, 6] and detail.history[1].text == "Đã nhận"
    with pytest.raises(PostalProtocolError):
        messages.parse_order_reply(encode(body), "OD2")


def statement(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "batchId": "COD-1",
        "date": "20250801",
        "totalCod": 350000,
        "totalFee": 20000,
        "totalRemitted": 330000,
        "items": [
            {
                "itemCode": "EB123456785VN",
                "saleOrderCode": "A",
                "codAmount": 150000,
                "collectedAt": "2025-08-01T10:00:00",
                "fee": 10000,
            },
            {
                "itemCode": "EB000000014VN",
                "saleOrderCode": "B",
                "codAmount": "200000",
                "collectedAt": "2025-08-01T11:00:00",
                "fee": 10000,
            },
        ],
    }
    base.update(changes)
    return base


def test_a_cod_statement_is_read_and_its_totals_checked() -> None:
    read = statements.parse_cod_statement(encode(statement()), date(2025, 8, 1))
    assert (read.total_cod, read.total_fee, read.total_remitted) == (350000, 20000, 330000)
    assert [line.cod_amount for line in read.lines] == [150000, 200000]
    assert statements.build_cod_statement_params(date(2025, 8, 1)) == {"date": "20250801"}


@pytest.mark.parametrize(
    "changes",
    [
        {"totalCod": 350001},
        {"totalFee": 1},
        {"totalRemitted": "lots"},
        {"totalRemitted": -1},
        {"date": "20250802"},
        {"batchId": ""},
        {"date": "2025-08-01"},
    ],
)
def test_an_inconsistent_statement_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(PostalProtocolError):
        statements.parse_cod_statement(encode(statement(**changes)), date(2025, 8, 1))


@pytest.mark.parametrize("remitted", [350000, 329000, 0])
def test_a_remittance_that_does_not_add_up_is_read_as_stated(remitted: int) -> None:
    """Not a malformed statement: reconciliation names the difference (cod_batch_mismatch)."""
    read = statements.parse_cod_statement(encode(statement(totalRemitted=remitted)), date(2025, 8, 1))
    assert (read.total_cod, read.total_fee, read.total_remitted) == (350000, 20000, remitted)
