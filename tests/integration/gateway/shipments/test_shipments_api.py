"""Booking, reading and cancelling shipments through the portal API against the real postal sandbox, both
directions end to end, with COD recorded once against the dossier."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from gateway.shipments import without_receipt
from gateway.store.tables import shipments as st
from tests.support.api import key
from tests.support.services import wait_for
from tests.support.shipments import advance, book, counts, outbox_types, shipment_body, wait_status
from tests.support.stack import Stack


async def test_collecting_a_dossier_end_to_end(api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack) -> None:
    shipment = await book(api, direction="collect_dossier", service="HCC-EXP", weight_grams=1200, note="Gọi trước 30'")
    assert shipment["status"] == "created" and shipment["sender"] == "citizen"
    assert shipment["item_code"].startswith("EA") and shipment["item_code"].endswith("VN")
    assert shipment["postage"] == 32_250  # express: (16,500 + 2 × 2,500) × 1.5
    order = (await post.get(f"/control/orders/{shipment['original_id']}")).json()
    assert order["saleOrderCode"] == shipment["id"]

    await advance(post, shipment["original_id"], scenario="deliver")
    done = await wait_status(api, shipment["id"], "delivered", events=9)
    assert [e["code"] for e in done["timeline"]] == [1, 2, 4, 6, 7, 10, 11, 12, 14]
    assert done["status_code"] == 14 and done["status_text"] == "Phát thành công"
    assert [e["occurred_at"] for e in done["timeline"]] == sorted(e["occurred_at"] for e in done["timeline"])
    types = await outbox_types(stack, shipment["id"])
    assert types[:2] == ["shipment.status_changed", "shipment.booked"]
    assert types.count("shipment.status_changed") == 6  # created, scheduled, picked up, in transit, out, delivered
    assert types[-1] == "shipment.delivered" and "shipment.picked_up" in types


async def test_delivering_a_result_with_cod_records_the_collection_once(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api, cod_amount=150_000, procedure_code="1.004227")
    assert shipment["sender"] == "agency" and shipment["cod_amount"] == 150_000
    await advance(post, shipment["original_id"], scenario="fail_then_deliver")
    done = await wait_status(api, shipment["id"], "delivered", events=11)
    assert [e["code"] for e in done["timeline"]] == [1, 2, 4, 6, 7, 10, 11, 12, 15, 12, 14]
    assert [e["applied"] for e in done["timeline"]][8:] == [True, False, True]  # a retry after failure stays failed
    collection = done["cod_collection"]
    assert collection["amount"] == 150_000
    assert collection["collected_at"] == done["timeline"][-1]["occurred_at"]
    types = await outbox_types(stack, shipment["id"])
    assert types.count("shipment.cod_collected") == 1

    rows = await _collections(stack, shipment["id"])
    assert len(rows) == 1 and rows[0].dossier_code == shipment["dossier_code"]
    assert rows[0].procedure_code == "1.004227"

    # The fee the post collected gets its receipt, like a fee paid online.
    async def receipted() -> str | None:
        return (await _collections(stack, shipment["id"]))[0].receipt_id

    receipt_id = await wait_for(receipted, timeout=20, what="a receipt for the COD collected")
    receipt = (await api.get(f"/v1/receipts/{receipt_id}")).json()
    assert receipt["source_type"] == "cod" and receipt["source_id"] == rows[0].id
    assert receipt["payment_method"] == "Thu hộ qua bưu chính" and receipt["total"] == 150_000
    assert receipt["dossier_code"] == shipment["dossier_code"]
    assert sum(line["amount"] for line in receipt["lines"]) == 150_000
    assert stack.db is not None
    async with stack.db.read() as conn:
        pending = {c.shipment_id for c in await without_receipt(conn, limit=10_000)}
    assert shipment["id"] not in pending

    await advance(post, shipment["original_id"], to=21)  # the post remits the collected fee
    remitted = await wait_status(api, shipment["id"], "cod_remitted", events=12)
    assert remitted["cod_collection"] == {**collection, "receipt_id": receipt_id}
    assert (await outbox_types(stack, shipment["id"])).count("shipment.cod_collected") == 1


async def test_a_returned_parcel(api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack) -> None:
    shipment = await book(api, cod_amount=20_000)
    await advance(post, shipment["original_id"], scenario="return")
    done = await wait_status(api, shipment["id"], "returned", events=15)
    assert done["cod_collection"] is None  # never delivered: nothing collected
    assert "shipment.returned" in await outbox_types(stack, shipment["id"])


async def test_cancelling_before_pickup(api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack) -> None:
    shipment = await book(api)
    await advance(post, shipment["original_id"], to=4)
    response = await api.post(f"/v1/shipments/{shipment['id']}/cancel", headers=key())
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["timeline"][-1]["code"] == 9
    done = await wait_status(api, shipment["id"], "cancelled", events=4)  # 1, 2, 4, 9: each once, by any path
    assert [e["code"] for e in done["timeline"]] == [1, 2, 4, 9]
    assert (await outbox_types(stack, shipment["id"]))[-1] == "shipment.cancelled"
    again = await api.post(f"/v1/shipments/{shipment['id']}/cancel", headers=key())
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_cancelling_after_pickup_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api)
    await advance(post, shipment["original_id"], to=6)
    picked = await wait_status(api, shipment["id"], "picked_up", events=4)
    before = await counts(stack)
    response = await api.post(f"/v1/shipments/{shipment['id']}/cancel", headers=key(), json={"reason": "đổi ý"})
    assert response.status_code == 409
    assert response.json()["code"] == "shipment_not_cancellable"
    assert await counts(stack) == before
    assert (await api.get(f"/v1/shipments/{shipment['id']}")).json() == picked
    order = (await post.get(f"/control/orders/{shipment['original_id']}")).json()
    assert order["status"] == 6


async def test_a_stale_view_of_the_parcel_is_corrected_by_the_post(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    """The post picked the parcel up but no event has reached us yet: the post refuses, we learn why."""
    shipment = await book(api)
    await post.put("/control/faults", json={"webhook": {"drop": 10}, "feed": {"corrupt": 1_000_000}})
    await advance(post, shipment["original_id"], to=6)
    response = await api.post(f"/v1/shipments/{shipment['id']}/cancel", headers=key())
    assert response.status_code == 409 and response.json()["code"] == "shipment_not_cancellable"
    now = (await api.get(f"/v1/shipments/{shipment['id']}")).json()
    assert now["status"] == "picked_up" and {e["source"] for e in now["timeline"][1:]} == {"order"}


async def test_the_same_key_replays_and_a_listing_pages_by_dossier(api: httpx.AsyncClient) -> None:
    headers = key()
    body = shipment_body()
    first = await api.post("/v1/shipments", json=body, headers=headers)
    replay = await api.post("/v1/shipments", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    dossier = body["dossier_code"]
    second = await book(api, dossier_code=dossier, direction="collect_dossier")
    third = await book(api, dossier_code=dossier)
    page = (await api.get("/v1/shipments", params={"dossier_code": dossier, "limit": 2})).json()
    assert [s["id"] for s in page["data"]] == [third["id"], second["id"]] and page["next_cursor"]
    rest = (await api.get("/v1/shipments", params={"dossier_code": dossier, "cursor": page["next_cursor"]})).json()
    assert [s["id"] for s in rest["data"]] == [first.json()["id"]] and rest["next_cursor"] is None
    booked = (await api.get("/v1/shipments", params={"dossier_code": dossier, "status": "created"})).json()
    assert len(booked["data"]) == 3


async def test_another_portal_sees_nothing(stack: Stack, api: httpx.AsyncClient) -> None:
    shipment = await book(api)
    async with stack.client(stack.other_api_key) as other:
        assert (await other.get(f"/v1/shipments/{shipment['id']}")).status_code == 404
        listing = await other.get("/v1/shipments", params={"dossier_code": shipment["dossier_code"]})
        assert listing.json()["data"] == []
        cancel = await other.post(f"/v1/shipments/{shipment['id']}/cancel", headers=key())
        assert cancel.status_code == 404
        response = await other.post("/v1/shipments", json=shipment_body(), headers=key())
        assert response.status_code == 422 and response.json()["code"] == "unknown_agency"


async def _collections(stack: Stack, shipment_id: str) -> list:  # type: ignore[type-arg]
    assert stack.db is not None
    async with stack.db.read() as conn:
        query = select(st.cod_collections).where(st.cod_collections.c.shipment_id == shipment_id)
        return list((await conn.execute(query)).all())


async def test_a_cod_receipt_lists_the_catalogue_fees_when_they_add_up(
    api: httpx.AsyncClient, post: httpx.AsyncClient, stack: Stack
) -> None:
    shipment = await book(api, cod_amount=8_000, procedure_code="1.001193")  # one fixed fee of 8,000 đ
    await advance(post, shipment["original_id"], scenario="deliver")
    await wait_status(api, shipment["id"], "delivered", events=9)

    async def receipted() -> str | None:
        found = await _collections(stack, shipment["id"])
        return found[0].receipt_id if found else None

    receipt_id = await wait_for(receipted, timeout=20, what="a receipt for the COD collected")
    receipt = (await api.get(f"/v1/receipts/{receipt_id}")).json()
    assert [(x["kind"], x["code"], x["amount"]) for x in receipt["lines"]] == [("le_phi", "LP-HT-01", 8_000)]
