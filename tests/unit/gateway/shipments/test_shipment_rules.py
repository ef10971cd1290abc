"""The pure rules of shipments: forward-only status, order independence, event identity across paths, what may
be cancelled, and how a request becomes the post's order."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.postal import StatusEvent, parse_event
from adapters.postal.codes import RANK, STATUSES, ShipmentState, state_of
from adapters.postal.messages import parse_order_reply, parse_tracking_page
from adapters.vntime import format_local
from gateway.kernel.errors import Refused
from gateway.shipments import booking
from gateway.shipments.schemas import AddressIn
from gateway.shipments.state import (
    AMOUNT_MISMATCH,
    BOOKING,
    COLLECT,
    NO_COD_BOOKED,
    REJECTED,
    cancellable,
    cod_verdict,
    dedupe_key,
    moves,
    occurrence,
)

SCENARIOS = {
    "deliver": (1, 2, 4, 6, 7, 10, 11, 12, 14),
    "fail_then_deliver": (1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 14),
    "return": (1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 15, 16, 17, 18, 20),
    "pickup_fail": (1, 2, 4, 5, 4, 5, 8),
    "cod_remitted": (1, 2, 4, 6, 7, 10, 11, 12, 14, 21),
    "cancelled": (1, 2, 9),
}
START = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


def events_of(codes: tuple[int, ...], original_id: str = "OD00000001") -> list[StatusEvent]:
    return [
        StatusEvent(
            original_id=original_id,
            item_code="EB100000003VN",
            sale_order_code="shp_x",
            code=code,
            text=STATUSES[code].name_vi,
            state=state_of(code),
            time=START + timedelta(minutes=n),
            event_id=n + 1,
        )
        for n, code in enumerate(codes)
    ]


def fold(status: str, events: list[StatusEvent]) -> str:
    for event in events:
        if moves(status, event):
            status = event.state.value
    return status


@given(st.sampled_from(sorted(SCENARIOS)), st.randoms(use_true_random=False), st.integers(0, 5))
def test_the_final_status_does_not_depend_on_arrival_order_or_repeats(name: str, rnd, repeats: int) -> None:  # type: ignore[no-untyped-def]
    events = events_of(SCENARIOS[name])
    in_order = fold(BOOKING, events)
    arrived = events + [rnd.choice(events) for _ in range(repeats)]
    rnd.shuffle(arrived)
    assert fold(BOOKING, arrived) == in_order
    assert fold(BOOKING, sorted(arrived, key=occurrence)) == in_order


@given(st.sampled_from(sorted(SCENARIOS)), st.randoms(use_true_random=False))
def test_a_shipment_never_moves_backwards(name: str, rnd) -> None:  # type: ignore[no-untyped-def]
    arrived = events_of(SCENARIOS[name])
    rnd.shuffle(arrived)
    status = BOOKING
    for event in arrived:
        if moves(status, event):
            assert (
                status == BOOKING
                or RANK[event.state] > RANK[ShipmentState(status)]
                or (status == "delivered" and event.state is ShipmentState.COD_REMITTED)
            )
            status = event.state.value


def test_the_expected_end_states() -> None:
    ends = {name: fold(BOOKING, events_of(codes)) for name, codes in SCENARIOS.items()}
    assert ends == {
        "deliver": "delivered",
        "fail_then_deliver": "delivered",
        "return": "returned",
        "pickup_fail": "pickup_failed",
        "cod_remitted": "cod_remitted",
        "cancelled": "cancelled",
    }


def test_a_rejected_shipment_never_moves() -> None:
    assert not any(moves(REJECTED, e) for e in events_of(SCENARIOS["deliver"]))


def test_one_event_has_one_key_on_the_webhook_the_feed_and_the_order_history() -> None:
    when = datetime(2026, 7, 1, 8, 30, 15, tzinfo=UTC)
    item = {
        "id": 42,
        "originalId": "OD00000007",
        "itemCode": "EB100000003VN",
        "saleOrderCode": "shp_1",
        "status": 6,
        "statusName": "Đã nhận hàng",
        "time": format_local(when),
        "location": "Bưu cục",
        "note": "",
        "codAmount": "150000",
    }
    pushed = parse_event(msgspec.json.encode(item))
    fed = parse_tracking_page(msgspec.json.encode({"items": [item], "lastId": 42}), after=41).events[0]
    order = {
        "success": True,
        "data": {
            "originalId": "OD00000007",
            "itemCode": "EB100000003VN",
            "saleOrderCode": "shp_1",
            "status": 6,
            "codAmount": 150000,
            "history": [{k: item[k] for k in ("status", "statusName", "time", "location", "note")}],
        },
    }
    history = parse_order_reply(msgspec.json.encode(order), "OD00000007").history[0]
    assert history.event_id is None and pushed.event_id == 42
    assert dedupe_key(pushed) == dedupe_key(fed) == dedupe_key(history) == "OD00000007:6:20260701T083015Z"
    later = parse_event(msgspec.json.encode({**item, "time": format_local(when + timedelta(seconds=1))}))
    other = parse_event(msgspec.json.encode({**item, "status": 7}))
    assert len({dedupe_key(pushed), dedupe_key(later), dedupe_key(other)}) == 3


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (BOOKING, None, True),
        ("created", 1, True),
        ("pickup_scheduled", 4, True),
        ("pickup_failed", 5, True),
        ("pickup_failed", 8, False),
        ("picked_up", 6, False),
        ("delivered", 14, False),
        ("cancelled", 9, False),
        (REJECTED, None, False),
        ("returning", 16, False),
    ],
)
def test_only_shipments_before_pickup_can_be_cancelled(status: str, code: int | None, expected: bool) -> None:
    assert cancellable(status, code) is expected


def test_legacy_and_current_addresses() -> None:
    current = booking.citizen_address(AddressIn(street=" 1  Liễu Giai ", province_code="01", commune_code="00008"))
    legacy = booking.citizen_address(AddressIn(street="1 Liễu Giai", province="01", district="001", ward="00008"))
    assert current == legacy and current.commune_name == "Phường Ngọc Hà" and current.admin_version == "2025-07"
    with pytest.raises(Refused) as caught:
        booking.citizen_address(AddressIn(street="1 Ngọc Hà", province="01", district="001", ward="00016"))
    assert caught.value.code == "address_ambiguous" and caught.value.field == "citizen.address.ward"
    assert {c["commune_code"] for c in caught.value.extra["candidates"]} == {"00004", "00008"}


@pytest.mark.parametrize(
    ("address", "field"),
    [
        (AddressIn(street="x", province_code="01"), "citizen.address.commune_code"),
        (AddressIn(street="x", province="01", ward="00001"), "citizen.address.district"),
        (AddressIn(street="x", province_code="01", commune_code="00070", ward="00001"), "citizen.address"),
        (AddressIn(street="x", province_code="1", commune_code="00070"), "citizen.address.province_code"),
    ],
)
def test_incomplete_or_mixed_addresses_name_the_field(address: AddressIn, field: str) -> None:
    with pytest.raises(Refused) as caught:
        booking.citizen_address(address)
    assert (caught.value.code, caught.value.field) == ("invalid_address", field)


def test_the_order_follows_the_direction() -> None:
    row = _Row(direction="collect_dossier")
    order = booking.order_of(row)  # type: ignore[arg-type]
    assert order.sale_order_code == "shp_1" and order.sender.name == "Lê Văn An" and order.receiver.name == "UBND"
    assert order.content_note == "Hồ sơ 000.00.01.H26-1" and order.cod_amount == 0
    result = booking.order_of(_Row(direction="deliver_result", cod_amount=8_000))  # type: ignore[arg-type]
    assert result.sender.name == "UBND" and result.receiver.phone == "0912345678" and result.cod_amount == 8_000


class _Row:
    """A stored shipment's columns, as the database returns them."""

    def __init__(self, **changes: object) -> None:
        values: dict[str, object] = {
            "id": "shp_1",
            "dossier_code": "000.00.01.H26-1",
            "weight_grams": 300,
            "service_code": "HCC",
            "note": "",
            "cod_amount": 0,
            "citizen_name": "Lê Văn An",
            "citizen_phone": "0912345678",
            "agency_name": "UBND",
            "agency_phone": "02438253536",
        }
        for side, (p, c) in itertools.product(("citizen", "agency"), [("01", "00070")]):
            values.update(
                {
                    f"{side}_province_code": p,
                    f"{side}_province_name": "Thành phố Hà Nội",
                    f"{side}_commune_code": c,
                    f"{side}_commune_name": "Phường Hoàn Kiếm",
                    f"{side}_street": "1 Phố",
                    f"{side}_admin_version": "2025-07",
                }
            )
        values.update(changes)
        self.__dict__.update(values)


COD_CASES = [
    # status before the event, its raw code, booked COD, reported event code and amount, verdict
    ("out_for_delivery", 12, 150_000, 14, 150_000, COLLECT),
    ("cod_remitted", 21, 150_000, 14, 150_000, COLLECT),  # the remittance arrived first
    ("booking", None, 150_000, 14, 150_000, COLLECT),  # the post's booking answer was lost
    ("out_for_delivery", 12, 150_000, 14, 120_000, AMOUNT_MISMATCH),
    ("out_for_delivery", 12, 150_000, 14, 0, AMOUNT_MISMATCH),  # delivered without collecting what was booked
    ("out_for_delivery", 12, 0, 14, 50_000, NO_COD_BOOKED),
    ("cancelled", 9, 150_000, 14, 9_999_999, "shipment_cancelled"),
    ("cancelled", 9, 150_000, 14, 150_000, "shipment_cancelled"),
    ("returned", 20, 150_000, 14, 150_000, "shipment_returned"),
    ("returning", 17, 150_000, 14, 150_000, "shipment_returning"),
    ("rejected", None, 150_000, 14, 150_000, "shipment_rejected"),
    ("pickup_failed", 8, 150_000, 14, 150_000, "shipment_never_picked_up"),
    ("out_for_delivery", 12, 0, 14, 0, None),  # no COD, none reported
    ("out_for_delivery", 12, 150_000, 15, 150_000, None),  # a failed attempt collects nothing
    ("delivered", 14, 150_000, 21, 150_000, None),  # remitting is not collecting
]


@pytest.mark.parametrize(("status", "status_code", "booked", "code", "reported", "verdict"), COD_CASES)
def test_money_the_post_reports_is_received_only_as_booked_on_a_shipment_that_can_collect(
    status: str, status_code: int | None, booked: int, code: int, reported: int, verdict: str | None
) -> None:
    (event,) = events_of((code,))
    event = replace(event, cod_amount=reported)
    assert cod_verdict(status, status_code, booked, event) == verdict
