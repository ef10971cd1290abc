"""Every route of the portal API, read from the app itself so that a new route is covered the day it is added,
against every kind of caller who must not get in: no key, a malformed key, a wrong key, a revoked key (401), and
another portal's key on this portal's resources (404, never the resource). None of them changes anything."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import func, select

from adapters.vntime import now_utc, to_vn
from gateway.app import create_app
from gateway.portals import api_keys, keys
from gateway.portals import service as portals
from gateway.settings import load
from gateway.store.tables import deliveries as dt
from gateway.store.tables import portals as ct
from gateway.store.tables import receipts as rt
from gateway.store.tables import shipments as st
from tests.support.api import counts, key
from tests.support.receipts import paid_payment, receipt_of
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.shipments import book
from tests.support.stack import AGENCY, WEBHOOK_SECRETS_KEY, Stack


def _routes() -> list[tuple[str, str]]:
    settings = load({"PAYHUB_HASH_KEY": "route-listing", "WEBHOOK_SECRETS_KEY": WEBHOOK_SECRETS_KEY}, log_json=False)
    app = create_app(settings)
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/v1"):
            for method in route.methods:
                if method not in ("HEAD", "OPTIONS"):
                    found.add((method, re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)))
    return sorted(found)


ROUTES = _routes()
# Bodies that pass each route's schema, so that a refusal is about the caller, not the body.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/payments/{payment_id}/refunds"): {"amount": 1000, "reason": "Hoàn một phần"},
    ("POST", "/v1/receipts/{receipt_id}/cancel"): {"reason": "Lập nhầm"},
    ("POST", "/v1/receipts/{receipt_id}/replace"): {"reason": "Sửa tên"},
    ("PUT", "/v1/webhook"): {"url": "https://hooks.example.vn/gateway"},
    ("POST", "/v1/webhook/dead-letters/replay"): {"since": "2025-01-01T00:00:00Z"},
}
OUTSIDERS = {
    "no key": None,
    "no scheme": "gwk_x",
    "bearer only": "Bearer",
    "basic": "Basic dXNlcjpwYXNz",
    "not a key": "Bearer not-a-key",
    "bare prefix": "Bearer gwk_",
    "binary": b"Bearer \xff\xfe\x80",
    "too long": "Bearer gwk_" + "a" * 5000,
    "wrong key": "wrong",
    "wrong secret": "wrong secret",
    "revoked key": "revoked",
}


@dataclass
class World:
    """Resources of the stack's first portal, and keys that must not reach them."""

    values: dict[str, str]
    revoked: str
    wrong_secret: str
    ids: list[str]


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    async with stack.client() as api, stack.hub() as hub:
        payment = await paid_payment(api, hub)
        receipt = await receipt_of(api, payment["id"])
        shipment = await book(api, dossier_code=payment["dossier_code"])
        events = (await api.get("/v1/events", params={"dossier_code": payment["dossier_code"]})).json()["data"]
    assert stack.db is not None
    created = await api_keys.create(stack.db, await _portal_of(stack), "to revoke", now_utc())
    await api_keys.revoke(stack.db, created.key_id, now_utc())
    key_id, _ = keys.parse(stack.api_key)  # type: ignore[misc]
    yesterday = to_vn(now_utc()).date() - timedelta(days=1)
    run_id = await add_run(stack.db, day=yesterday, agencies={AGENCY.code: {"settled": 123_456}})
    break_id = await add_break(stack.db, run_id, day=yesterday, agency=AGENCY.code, reference="PGMATRIX00000001")
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
    return World(
        values=values,
        revoked=created.api_key,
        wrong_secret=f"gwk_{key_id.removeprefix('key_')}.{secrets.token_urlsafe(32)}",
        ids=[payment["id"], receipt["id"], shipment["id"], events[0]["id"], payment["reference"], run_id, break_id],
    )


async def _portal_of(stack: Stack) -> str:
    assert stack.db is not None
    portal = await portals.authenticate(stack.db, stack.api_key)
    assert portal is not None
    return portal.portal_id


async def snapshot(stack: Stack, world: World) -> dict[str, Any]:
    """Row counts of every table a request could write, and the first portal's resources as it reads them."""
    assert stack.db is not None
    found: dict[str, Any] = await counts(stack)
    corrected = (rt.receipts.c.replaces_id.is_not(None)) | (rt.receipts.c.status != "issued")
    async with stack.db.read() as conn:
        for table in (ct.api_keys, st.shipments, st.shipment_events, dt.webhook_endpoints, dt.delivery_attempts):
            found[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
        query = select(func.count()).select_from(rt.receipts).where(corrected)
        found["corrected receipts"] = (await conn.execute(query)).scalar_one()
    async with stack.client() as api:
        v = world.values
        for path in (f"/v1/payments/{v['payment_id']}", f"/v1/receipts/{v['receipt_id']}", "/v1/webhook"):
            found[path] = (await api.get(path)).text
        shipment = (await api.get(f"/v1/shipments/{v['shipment_id']}")).json()
        found["shipment"] = (shipment["status"], shipment["cancelled_at"] if "cancelled_at" in shipment else None)
    return found


@pytest.fixture
async def unchanged(stack: Stack, world: World) -> AsyncIterator[None]:
    before = await snapshot(stack, world)
    yield
    assert await snapshot(stack, world) == before


def _path(template: str, world: World) -> str:
    def value(match: re.Match[str]) -> str:
        name = match[1]
        assert name in world.values, f"the matrix has no value for path parameter {name!r}: add one to World"
        return world.values[name]

    return re.sub(r"\{(\w+)\}", value, template)


async def call(stack: Stack, method: str, template: str, world: World, authorization: Any) -> httpx.Response:
    headers: dict[str, Any] = {**key()}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = BODIES.get((method, template))
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        return await client.request(method, _path(template, world), json=body, headers=headers)


def leaks(response: httpx.Response, world: World) -> bool:
    """Whether the answer names one of the first portal's resources (a problem's ``instance`` is the caller's own
    request path, so it is left out)."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "instance"}
    text = json.dumps(body, ensure_ascii=False)
    return any(i in text for i in world.ids)


def _authorization(name: str, value: Any, world: World) -> Any:
    if value == "wrong":
        return f"Bearer gwk_{'z' * 26}.{secrets.token_urlsafe(32)}"
    if value == "wrong secret":
        return f"Bearer {world.wrong_secret}"
    if value == "revoked":
        return f"Bearer {world.revoked}"
    return value


@pytest.mark.parametrize(("method", "template"), ROUTES)
async def test_an_outsider_is_unauthorized_everywhere(
    stack: Stack, world: World, unchanged: None, method: str, template: str
) -> None:
    for outsider, value in OUTSIDERS.items():
        response = await call(stack, method, template, world, _authorization(outsider, value, world))
        assert response.status_code == 401, (outsider, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert not leaks(response, world), outsider


RESOURCE_ROUTES = [(m, p) for m, p in ROUTES if "{" in p]
COLLECTION_READS = [(m, p) for m, p in ROUTES if "{" not in p and m == "GET"]


@pytest.mark.parametrize(("method", "template"), RESOURCE_ROUTES)
async def test_another_portals_key_finds_nothing_of_this_portal(
    stack: Stack, world: World, unchanged: None, method: str, template: str
) -> None:
    response = await call(stack, method, template, world, f"Bearer {stack.other_api_key}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] in ("not_found", "webhook_not_configured")
    assert not leaks(response, world)


@pytest.mark.parametrize(("method", "template"), COLLECTION_READS)
async def test_another_portals_lists_show_nothing_of_this_portal(
    stack: Stack, world: World, unchanged: None, method: str, template: str
) -> None:
    response = await call(stack, method, template, world, f"Bearer {stack.other_api_key}")
    assert response.status_code in (200, 404), response.text
    assert not leaks(response, world)
    assert world.values["dossier_code"] not in response.text


def test_the_matrix_covers_every_route() -> None:
    assert len(ROUTES) >= 29
    assert ("GET", "/v1/reconciliation/breaks/{break_id}") in ROUTES
    assert all(p.startswith("/v1/") for _, p in ROUTES)
    assert AGENCY.code  # the first portal acts for the stack's agency
