"""What the HTTP benchmarks send and write beforehand: payments and shipments cloned, in bulk, from ones made
through the real API (so the rows are the gateway's own), hub CONFIRM callbacks signed with the hub's checksum,
and postal pushes signed with ``X-Postal-Signature`` just before they are sent."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import msgspec

from adapters.payhub import checksum
from adapters.postal import webhook as signatures
from adapters.vntime import format_compact, now_utc
from bench.load import PLACEHOLDER, request_line
from gateway.ids import new_hub_reference, new_id
from tests.support.stack import HASH_KEY, PARTNER, POSTAL_CUSTOMER, POSTAL_PASSWORD, POSTAL_USER, Stack, payment_body


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# ---------------------------------------------------------------- payments


@dataclass(frozen=True)
class PaymentSeed:
    id: str
    reference: str
    amount: int
    portal_id: str
    dossier_code: str


def creation_line(api_key: str, path: str | None = None) -> str:
    """The template of a payment creation: a fresh Idempotency-Key and dossier code per request (requests.lua);
    ``path`` names the route in a file that mixes routes."""
    body = msgspec.json.encode(payment_body(dossier=f"000.00.01.H26-{PLACEHOLDER}"))
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": f"bench-{PLACEHOLDER}"}
    return request_line(body, headers, post=path)


async def create_payment(stack: Stack) -> dict[str, Any]:
    """One payment through the API (validated, stored, initialised at the hub): the template of the clones."""
    async with stack.client() as api:
        response = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": secrets.token_hex(12)}
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def clone_payments(conn: asyncpg.Connection, template_id: str, count: int) -> list[PaymentSeed]:
    """``count`` copies of a pending payment (with its lines and its dossier's sequence row), each with its own
    id, hub reference and dossier code, written with COPY."""
    template = dict(await conn.fetchrow("SELECT * FROM payments WHERE id = $1", template_id))
    lines = [dict(r) for r in await conn.fetch("SELECT * FROM payment_lines WHERE payment_id = $1", template_id)]
    last = await conn.fetchval(
        "SELECT last_sequence FROM dossier_sequences WHERE portal_id = $1 AND dossier_code = $2",
        template["portal_id"],
        template["dossier_code"],
    )
    seeds, payments, payment_lines, sequences = [], [], [], []
    tag = secrets.token_hex(3)
    for i in range(count):
        seed = PaymentSeed(
            new_id("pay"),
            new_hub_reference(),
            template["amount"],
            template["portal_id"],
            f"000.00.01.H26-B{tag}{i:07d}",
        )
        seeds.append(seed)
        payments.append({**template, "id": seed.id, "reference": seed.reference, "dossier_code": seed.dossier_code})
        payment_lines.extend({**line, "payment_id": seed.id} for line in lines)
        sequences.append((seed.portal_id, seed.dossier_code, last))
    await _copy(conn, "payments", payments)
    await _copy(conn, "payment_lines", payment_lines)
    await conn.copy_records_to_table(
        "dossier_sequences", records=sequences, columns=["portal_id", "dossier_code", "last_sequence"]
    )
    return seeds


async def _copy(conn: asyncpg.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        await conn.copy_records_to_table(table, records=[tuple(r[c] for c in columns) for r in rows], columns=columns)


def confirm_body(seed: PaymentSeed, paid_at: datetime, partner: str = PARTNER, key: str = HASH_KEY) -> bytes:
    """The hub's CONFIRM of a successful payment, signed as the hub signs it (``adapters.payhub.checksum``)."""
    message: dict[str, Any] = {
        "LoaiBanTin": "CONFIRM",
        "MaLoi": "00",
        "MaDoiTac": partner,
        "MaThamChieu": seed.reference,
        "SoTien": seed.amount,
        "MaTienTe": "VND",
        "MaGiaoDich": f"HUB{secrets.token_hex(7).upper()}",
        "MaNganHang": "VCB",
        "ThoiGianGD": format_compact(paid_at),
        "ThongTinGiaoDich": f"Nop phi ho so {seed.dossier_code}",
    }
    message["MaXacThuc"] = checksum.sign("confirm", message, key)
    return msgspec.json.encode(message)


def callback_lines(seeds: list[PaymentSeed]) -> list[str]:
    now = now_utc()
    return [request_line(confirm_body(seed, now)) for seed in seeds]


# ---------------------------------------------------------------- shipments


async def book_and_deliver(stack: Stack) -> tuple[str, list[dict[str, Any]]]:
    """One parcel booked through the API and taken through a delivery at the post: its id and every event the
    post logged for it (the feed's items, the same shape the post pushes)."""
    body = {
        "dossier_code": f"000.00.01.H26-{secrets.token_hex(5)}",
        "direction": "deliver_result",
        "agency_code": "000.00.01.H26",
        "procedure_code": "1.004227",  # the agency has procedures that may not go by post: name one that may
        "weight_grams": 300,
        "citizen": {
            "name": "Trần Văn Bình",
            "phone": "0912345678",
            "address": {"province_code": "79", "commune_code": "25747", "street": "12 Yersin"},
        },
    }
    async with stack.client() as api, stack.post() as post:
        response = await api.post("/v1/shipments", json=body, headers={"Idempotency-Key": secrets.token_hex(12)})
        assert response.status_code == 201, response.text
        shipment = response.json()
        moved = await post.post(f"/control/orders/{shipment['original_id']}/advance", json={"scenario": "deliver"})
        assert moved.status_code == 200, moved.text
    items = [item for item in await feed_items(stack) if item["saleOrderCode"] == shipment["id"]]
    assert items, "the post logged no event for the parcel"
    return str(shipment["id"]), items


async def feed_items(stack: Stack, after: int = 0) -> list[dict[str, Any]]:
    """Every item of the post's tracking feed after ``after``."""
    items: list[dict[str, Any]] = []
    async with stack.post() as post:
        token = await post_token(post)
        last = after
        while True:
            page = (
                await post.post(
                    "/customer-partner/getOrderTracking",
                    json={"pageSize": 500, "lastId": last},
                    headers={"token": token},
                )
            ).json()
            items.extend(page["items"])
            if not page["items"]:
                return items
            last = page["lastId"]


async def post_token(post: httpx.AsyncClient) -> str:
    reply = await post.post(
        "/customer-partner/GetAccessToken",
        json={"username": POSTAL_USER, "password": POSTAL_PASSWORD, "customerCode": POSTAL_CUSTOMER},
    )
    return str(reply.json()["token"])


async def clone_shipments(conn: asyncpg.Connection, template_id: str, count: int) -> list[tuple[str, str]]:
    """``count`` copies of a booked shipment, each with its own id (the saleOrderCode), the post's order id and
    dossier (so no two share a dossier's sequence row, as no two parcels do); returns (id, original id) pairs."""
    template = dict(await conn.fetchrow("SELECT * FROM shipments WHERE id = $1", template_id))
    tag = secrets.token_hex(3).upper()
    clones = [(new_id("shp"), f"BN{tag}{i:08d}") for i in range(count)]
    rows = [
        {**template, "id": shipment_id, "original_id": original_id, "dossier_code": f"000.00.01.H26-S{tag}{n:07d}"}
        for n, (shipment_id, original_id) in enumerate(clones)
    ]
    await _copy(conn, "shipments", rows)
    return clones


def postal_items(template: list[dict[str, Any]], clones: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The template's events for every clone, event after event (all the first events, then all the seconds…),
    so a shipment's events are far apart in the run and arrive in the order they happened."""
    return [
        {**item, "saleOrderCode": shipment_id, "originalId": original_id}
        for item in template
        for shipment_id, original_id in clones
    ]


def push_lines(items: list[dict[str, Any]], secret: str) -> list[str]:
    """The post's signed pushes, with a timestamp of now: the gateway takes them for 300 s."""
    t = int(time.time())
    lines = []
    for item in items:
        body = msgspec.json.encode(item)
        lines.append(request_line(body, {signatures.HEADER: signatures.sign(secret, t, body)}))
    return lines


async def analyze(conn: asyncpg.Connection) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum keeps them on a live database."""
    await conn.execute("ANALYZE")


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url))
