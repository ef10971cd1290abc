"""Query and path parameters at the edge: whatever a client sends as a cursor, an id or a date, the answer is a
problem with a stable code, never a server error, and nothing changes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from tests.support.api import counts, key
from tests.support.stack import RECEIVER_HOST, Stack

HOSTILE_CURSORS = [
    "²",  # a digit to str.isdigit, not to int()
    "١٢٣",  # Arabic-Indic digits
    "１２",  # full-width digits
    "9223372036854775808",  # one past the largest 64-bit integer
    "99999999999999999999",
    "-1",
    "0x10",
    " 1",
]
WEBHOOK = f"http://{RECEIVER_HOST}:9/gateway"  # never sent to: nothing here makes an event
EVENT_CURSORS = ["9223372036854775808-1", "1-9223372036854775808", "١-١", "²-1", "-1--1", "1-"]


@pytest.fixture
async def fresh_api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A portal of its own, so that its webhook and dead letters do not disturb other tests."""
    assert stack.db is not None
    portal_id, api_key = await portals.create_portal(stack.db, f"Cổng {secrets.token_hex(3)}", [])
    assert await set_private_webhooks(stack.db, portal_id, True)  # WEBHOOK below is on a private address
    async with stack.client(api_key) as client:
        yield client


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS)
@pytest.mark.parametrize(
    "path", ["/v1/webhook/deliveries", "/v1/webhook/dead-letters", "/v1/payments", "/v1/receipts", "/v1/shipments"]
)
async def test_a_cursor_this_api_did_not_give_is_refused(api: httpx.AsyncClient, path: str, cursor: str) -> None:
    _assert_problem(await api.get(path, params={"cursor": cursor}), 400, "invalid_request")


@pytest.mark.parametrize("cursor", EVENT_CURSORS + HOSTILE_CURSORS)
async def test_an_event_cursor_this_api_did_not_give_is_refused(api: httpx.AsyncClient, cursor: str) -> None:
    _assert_problem(await api.get("/v1/events", params={"after": cursor}), 400, "invalid_request")


async def test_a_cursor_this_api_gave_still_pages(api: httpx.AsyncClient) -> None:
    for path in ("/v1/payments", "/v1/receipts", "/v1/webhook/deliveries"):
        first = await api.get(path, params={"limit": 1})
        assert first.status_code == 200, first.text
        cursor = first.json()["next_cursor"]
        if cursor is not None:
            assert (await api.get(path, params={"limit": 1, "cursor": cursor})).status_code == 200
    feed = (await api.get("/v1/events", params={"limit": 1})).json()
    if feed["next_cursor"]:
        assert (await api.get("/v1/events", params={"after": feed["next_cursor"]})).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/payments/{x}/cancel",
        "/v1/payments/{x}/refunds",
        "/v1/shipments/{x}/cancel",
        "/v1/receipts/{x}/cancel",
        "/v1/receipts/{x}/replace",
        "/v1/events/{x}/replay",
    ],
)
async def test_an_idempotent_post_to_a_very_long_path_is_not_found(
    api: httpx.AsyncClient, stack: Stack, path: str
) -> None:
    before = await counts(stack)
    response = await api.post(path.format(x="p" * 300), json={"amount": 1, "reason": "x"}, headers=key())
    _assert_problem(response, 404, "not_found")
    assert await counts(stack) == before


@pytest.mark.parametrize(
    "since",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59Z",
        "1899-12-31T00:00:00+07:00",
    ],
)
async def test_a_replay_date_outside_the_calendar_we_keep_is_refused(
    fresh_api: httpx.AsyncClient, stack: Stack, since: str
) -> None:
    put = await fresh_api.put("/v1/webhook", json={"url": WEBHOOK})
    assert put.status_code in (200, 201), put.text
    before = await counts(stack)
    response = await fresh_api.post("/v1/webhook/dead-letters/replay", json={"since": since}, headers=key())
    _assert_problem(response, 400, "invalid_request")
    assert response.json()["field"] == "since"
    assert await counts(stack) == before


async def test_a_replay_date_in_range_is_taken(fresh_api: httpx.AsyncClient) -> None:
    await fresh_api.put("/v1/webhook", json={"url": WEBHOOK})
    response = await fresh_api.post(
        "/v1/webhook/dead-letters/replay", json={"since": "2025-01-01T00:00:00+07:00"}, headers=key()
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"replayed": 0}


@pytest.mark.parametrize("body", [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 3_000 + b"1" + b"}" * 3_000])
@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/payments"), ("PUT", "/v1/webhook")])
async def test_json_nested_thousands_deep_is_malformed(
    fresh_api: httpx.AsyncClient, stack: Stack, method: str, path: str, body: bytes
) -> None:
    before = await counts(stack)
    headers = {**key(), "Content-Type": "application/json"}
    response = await fresh_api.request(method, path, content=body, headers=headers)
    _assert_problem(response, 400, "malformed_json")
    assert await counts(stack) == before
