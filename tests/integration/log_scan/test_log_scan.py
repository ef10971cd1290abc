"""A full run on the real stack with DEBUG logging — a payment paid and receipted, a shipment delivered with COD
and receipted, webhooks delivered and their secret rotated — and then every process's log is searched for
secrets (API keys, the hub's checksum key, the post's password and webhook secrets, webhook signing secrets,
the receipt key's password, Authorization headers) and for a citizen's full 9- or 12-digit id number."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.postal import webhook as signatures
from tests.support.api import key
from tests.support.receipts import paid_payment, receipt_of
from tests.support.services import create_pg_database, drop_pg_database, require_redis, wait_for
from tests.support.shipments import advance, book, wait_shipment
from tests.support.stack import HASH_KEY, POSTAL_OLD_SECRET, POSTAL_PASSWORD, POSTAL_SECRET, Stack
from tests.support.webhook_receiver import Receiver

ID_NUMBERS = ("001203004567", "079088001234", "123456789")
FULL_ID = re.compile(r"(?<![0-9A-Za-z])([0-9]{9}|[0-9]{12})(?![0-9A-Za-z])")  # not inside a token (PG261206045844RG7F)


@pytest.fixture(scope="module")
async def debug_stack() -> AsyncIterator[Stack]:
    """A stack of its own, logging everything, on PostgreSQL."""
    url = await create_pg_database()
    workdir = Path(tempfile.mkdtemp(prefix="gwlogs-"))
    stack = Stack(backend="postgres", database_url=url, redis_url=require_redis(), workdir=workdir, log_level="DEBUG")
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
        await drop_pg_database(url)


async def run_everything(stack: Stack, receiver: Receiver) -> list[str]:
    """The end-to-end flow; returns the secrets it saw."""
    seen: list[str] = []
    async with stack.client() as api, stack.hub() as hub, stack.post() as post:
        hook = (await api.put("/v1/webhook", json={"url": receiver.url})).json()
        seen.append(hook["secret"])
        receiver.secrets.append(hook["secret"])
        payer = {"name": "Lê Thị Thu", "id_number": ID_NUMBERS[0], "address": "3 Lý Thái Tổ, Hà Nội"}
        payment = await paid_payment(api, hub, payer=payer)
        await receipt_of(api, payment["id"])
        shipment = await book(
            api,
            cod_amount=150_000,
            procedure_code="1.004227",
            citizen={
                "name": "Phạm Văn Đức",
                "phone": "0912345678",
                "address": {"province_code": "79", "commune_code": "25747", "street": "12 Yersin"},
            },
        )
        await advance(post, shipment["original_id"], scenario="deliver")
        await wait_shipment(api, shipment["id"], lambda s: s["cod_collection"], "the COD collected")

        async def cod_receipted() -> bool:
            found = (await api.get(f"/v1/shipments/{shipment['id']}")).json()
            return bool(found["cod_collection"] and found["cod_collection"]["receipt_id"])

        await wait_for(cod_receipted, timeout=30, what="the COD receipt")
        await wait_for(lambda: _delivered(receiver), timeout=30, what="webhooks delivered")
        rotated = await api.post("/v1/webhook/rotate-secret", json={"overlap_seconds": 0}, headers=key())
        seen.append(rotated.json()["secret"])
        receiver.secrets.append(rotated.json()["secret"])
        await api.post("/v1/webhook/test", headers=key())
        # refused requests log too: a wrong key, a bad body with an id number in it
        async with stack.client(stack.api_key + "x") as wrong:
            await wrong.get("/v1/payments")
        bad = {"payer": {"id_number": ID_NUMBERS[2]}, "fees": "x"}
        await api.post("/v1/payments", json=bad, headers=key())
        await forged_callbacks(stack, payment["reference"])
    return seen


async def forged_callbacks(stack: Stack, reference: str) -> None:
    """The hub's and the post's doors, knocked on with forged and unreadable messages carrying an id number."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        forged = {"MaThamChieu": reference, "SoTien": 1, "SoCCCD": ID_NUMBERS[2], "MaXacThuc": "0" * 64}
        await client.post("/callbacks/payhub", json=forged)
        await client.post("/callbacks/payhub", content=b'{"SoCCCD": "' + ID_NUMBERS[2].encode() + b'"')
        push = json.dumps({"itemCode": "EB123456789VN", "note": ID_NUMBERS[2]}).encode()
        await client.post("/callbacks/postal", content=push, headers={signatures.HEADER: "t=1,v1=00"})
        signed = {signatures.HEADER: signatures.sign(POSTAL_SECRET, int(time.time()), push + b"x")}
        await client.post("/callbacks/postal", content=push + b"x", headers=signed)


def _delivered(receiver: Receiver) -> bool:
    types = {d.event.get("type") for d in receiver.verified()}
    return {"payment.paid", "receipt.issued", "shipment.cod_collected"} <= types


def secrets_of(stack: Stack) -> dict[str, str]:
    found = {
        "API key": stack.api_key,
        "API key secret": stack.api_key.rsplit(".", 1)[1],
        "other API key": stack.other_api_key,
        "hub checksum key": HASH_KEY,
        "postal password": POSTAL_PASSWORD,
        "postal webhook secret": POSTAL_SECRET,
        "old postal webhook secret": POSTAL_OLD_SECRET,
    }
    for path in stack.receipt_keys_dir.glob("*.password"):
        found[f"receipt key password {path.name}"] = path.read_text().strip()
    return found


async def test_no_log_holds_a_secret_or_a_full_id_number(debug_stack: Stack) -> None:
    receiver = await Receiver().start()
    try:
        webhook_secrets = await run_everything(debug_stack, receiver)
    finally:
        await receiver.stop()
    for process in debug_stack.processes.values():
        process.stop()  # every line written and flushed
    secrets = secrets_of(debug_stack) | {f"webhook secret {n}": s for n, s in enumerate(webhook_secrets)}
    logs = {path.name: path.read_text(errors="replace") for path in debug_stack.workdir.glob("*.log")}
    assert {"gateway-postgres.log", "worker-postgres.log"} <= set(logs)
    assert sum(len(text) for text in logs.values()) > 10_000  # DEBUG logging did log
    # the scan itself finds what it looks for
    planted = scan({"planted.log": f"x {HASH_KEY} Bearer y {ID_NUMBERS[0]}"}, secrets)
    assert planted == ["planted.log: a full id number …4567", "planted.log: an Authorization header (Bearer)",
                       "planted.log: hub checksum key"]  # fmt: skip
    hits = scan(logs, secrets)
    assert not hits, "\n".join(hits)


def scan(logs: dict[str, str], secrets: dict[str, str]) -> list[str]:
    hits = []
    for name, text in logs.items():
        for what, secret in secrets.items():
            if secret and secret in text:
                hits.append(f"{name}: {what}")
        for marker in ("Bearer ", "Authorization: "):
            if marker in text:
                hits.append(f"{name}: an Authorization header ({marker.strip()})")
        for number in FULL_ID.findall(text):
            hits.append(f"{name}: a full id number …{number[-4:]}")
    return sorted(set(hits))
