"""Property tests over every parameter of every portal API operation (read from the OpenAPI document, which a
unit test keeps equal to the app): path and query parameters, the Idempotency-Key, Authorization and Content-Type
headers, and bodies, each given hostile values. Whatever arrives, the answer is never a server error, a refusal
is problem+json with a code from the catalogue, and a refusal changes nothing."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.vntime import now_utc, to_vn
from gateway.kernel.errors import CODES
from gateway.portals import service as portals
from gateway.store.db import Database
from gateway.store.tables import deliveries as dt
from gateway.store.tables import idempotency as it
from gateway.store.tables import payments as pt
from gateway.store.tables import portals as ct
from gateway.store.tables import shipments as sh
from tests.support import hostile_requests as hostile
from tests.support.receipts import paid_payment, receipt_of
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.shipments import book, shipment_body
from tests.support.stack import AGENCY, Stack, payment_body

DOCUMENT = Path(__file__).resolve().parents[4] / "openapi" / "openapi.json"
LOOPBACK_HOOK = "http://127.0.0.1:9/hook"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    query: tuple[str, ...]
    idempotent: bool
    has_body: bool

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _operations() -> list[Operation]:
    found = []
    for template, ops in json.loads(DOCUMENT.read_text())["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            found.append(
                Operation(
                    method=method.upper(),
                    template=template,
                    query=tuple(p["name"] for p in params if p["in"] == "query"),
                    idempotent=any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in params),
                    has_body="requestBody" in op,
                )
            )
    return found


OPERATIONS = _operations()
VALID_BODIES: dict[str, Any] = {
    "POST /v1/payments": payment_body(),
    "POST /v1/payments/{payment_id}/refunds": {"amount": 1000, "reason": "Hoàn một phần"},
    "POST /v1/payments/{payment_id}/cancel": {"reason": "Công dân hủy"},
    "POST /v1/receipts/{receipt_id}/cancel": {"reason": "Lập nhầm"},
    "POST /v1/receipts/{receipt_id}/replace": {"reason": "Sửa tên", "payer": {"name": "Nguyễn Văn A"}},
    "POST /v1/shipments": shipment_body(),
    "POST /v1/shipments/{shipment_id}/cancel": {"reason": "Không cần nữa"},
    "PUT /v1/webhook": {"url": LOOPBACK_HOOK, "enabled": True},
    "POST /v1/webhook/rotate-secret": {"overlap_seconds": 60},
    "POST /v1/webhook/dead-letters/replay": {"since": "2025-01-01T00:00:00+07:00"},
}
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "application/json; charset=latin-1",
    "",
]


@dataclass
class Fuzz:
    token: str
    values: dict[str, str]


@pytest.fixture(scope="module")
async def fuzz(stack: Stack) -> Fuzz:
    """A portal of its own for the fuzzing, with one of each resource to aim at."""
    assert stack.db is not None
    _, token = await portals.create_portal(stack.db, f"Cổng thử lỗi {secrets.token_hex(3)}", [AGENCY.code])
    async with stack.client(token) as api, stack.hub() as hub:
        payment = await paid_payment(api, hub)
        receipt = await receipt_of(api, payment["id"])
        shipment = await book(api)
        events = (await api.get("/v1/events", params={"limit": 1})).json()["data"]
        await api.put("/v1/webhook", json={"url": LOOPBACK_HOOK})
    yesterday = to_vn(now_utc()).date() - timedelta(days=1)
    run_id = await add_run(stack.db, day=yesterday, agencies={AGENCY.code: {"settled": 150_000}})
    break_id = await add_break(stack.db, run_id, day=yesterday, agency=AGENCY.code, reference=payment["reference"])
    values = {
        "payment_id": payment["id"],
        "receipt_id": receipt["id"],
        "receipt_ref": receipt["id"],
        "shipment_id": shipment["id"],
        "event_id": events[0]["id"],
        "dossier_code": payment["dossier_code"],
        "run_id": run_id,
        "break_id": break_id,
    }
    return Fuzz(token=token, values=values)


class Driver:
    """Sends requests (sync HTTP, as Hypothesis drives a sync function) and counts rows on its own event loop."""

    COUNTED = (pt.payments, pt.refunds, it.idempotency_keys, ct.api_keys, sh.shipments, dt.webhook_endpoints)

    def __init__(self, stack: Stack, token: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = Database.from_url(stack.database_url)
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=30)
        self.token = token

    def counts(self) -> dict[str, int]:
        async def go() -> dict[str, int]:
            async with self.db.read() as conn:
                return {
                    table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                    for table in self.COUNTED
                }

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.http.close()
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()


@pytest.fixture
def driver(stack: Stack, fuzz: Fuzz) -> Iterator[Driver]:
    found = Driver(stack, fuzz.token)
    try:
        yield found
    finally:
        found.close()


def _path(data: st.DataObject, operation: Operation, fuzz: Fuzz) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1]
        real = fuzz.values[name]
        chosen = data.draw(st.one_of(st.just(real), hostile.hostile_text()), label=name)
        return hostile.percent(chosen)

    return re.sub(r"\{(\w+)\}", value, operation.template)


def _query(data: st.DataObject, operation: Operation) -> str:
    pairs = []
    for name in operation.query:
        if data.draw(st.booleans(), label=f"send {name}"):
            pairs.append((name, data.draw(hostile.hostile_text(), label=name)))
    if data.draw(st.integers(0, 4), label="unknown parameter") == 0:
        pairs.append((data.draw(st.text(min_size=1, max_size=12)), data.draw(hostile.hostile_text())))
    return "&".join(f"{hostile.percent(k)}={hostile.percent(v)}" for k, v in pairs)


def _headers(data: st.DataObject, operation: Operation, token: str) -> dict[str, bytes]:
    headers = {"Authorization": f"Bearer {token}".encode()}
    if operation.idempotent:
        key = data.draw(
            st.one_of(st.just(secrets.token_hex(12)), hostile.hostile_text(), st.none()), label="Idempotency-Key"
        )
        if key is not None:
            headers["Idempotency-Key"] = key.encode("utf-8", "surrogatepass")
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="Content-Type")
    if content_type:
        headers["Content-Type"] = content_type.encode()
    return headers


def _body(data: st.DataObject, operation: Operation) -> bytes | None:
    if operation.method == "GET":
        return None
    base = VALID_BODIES.get(str(operation))
    choices = [st.none(), hostile.json_values().map(hostile.encode), st.sampled_from(hostile.RAW_BODIES)]
    if base is not None:
        choices += [st.just(hostile.encode(base)), hostile.mutate(base).map(_loopback_only).map(hostile.encode)]
    return data.draw(st.one_of(*choices), label="body")


def _loopback_only(body: Any) -> Any:
    """A webhook URL the fuzzing saves must not send a test event anywhere but this machine."""
    if isinstance(body, dict) and isinstance(body.get("url"), str):
        try:
            host = urlsplit(body["url"]).hostname
        except ValueError:
            return body
        if host not in (None, "127.0.0.1", "localhost"):
            return {**body, "url": LOOPBACK_HOOK}
    return body


# What the HTTP server itself answers to a request that breaks HTTP (a DEL in a header, say) before the app sees it.
SERVER_REFUSAL = "Invalid HTTP request received."


def _assert_answer(response: httpx.Response, request: str) -> None:
    assert response.status_code < 500, f"{request}\n→ {response.status_code} {response.text[:500]}"
    if response.status_code == 400 and response.text == SERVER_REFUSAL:
        return
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/problem+json"), request
        code = response.json().get("code")
        assert code in CODES, f"{request}\n→ unknown code {code!r}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_hostile_values_never_break_an_operation(driver: Driver, fuzz: Fuzz, operation: Operation) -> None:
    @given(data=st.data())
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(data: st.DataObject) -> None:
        path = _path(data, operation, fuzz)
        query = _query(data, operation)
        url = f"{path}?{query}" if query else path
        headers = _headers(data, operation, fuzz.token)
        body = _body(data, operation)
        before = driver.counts() if operation.method != "GET" else None
        try:
            response = driver.http.request(operation.method, url, content=body, headers=headers)
        except (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeEncodeError):
            reject()  # the client will not even send it
        described = f"{operation.method} {url[:300]} headers={headers!r:.300} body={body!r:.300}"
        _assert_answer(response, described)
        if before is not None and response.status_code >= 400:
            assert driver.counts() == before, f"a refusal changed something: {described}"

    check()


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 24
    missing = [str(o) for o in OPERATIONS if o.has_body and str(o) not in VALID_BODIES]
    assert not missing, f"give these operations a valid body to mutate: {missing}"
