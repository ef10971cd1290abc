"""The portal's webhook controls, bad URLs, broken receivers, dead letters and replay, rotation, the breaker."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.services import wait_for
from tests.support.stack import Stack, payment_body
from tests.support.webhook_receiver import Receiver, independent_verify

from .conftest import Portal, endpoint_count, key, point, states, write_events


@pytest.mark.parametrize(
    "url",
    [
        "ftp://portal.example.vn/hooks",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pass@portal.example.vn/hooks",
        "http:///no-host",
        "https://portal.example.vn/hooks#frag",
        "http://portal.example.vn:99999/hooks",
        "GATEWAY",
        "http://localhost:GATEWAY_PORT/v1/payments",
        "http://[::1]:GATEWAY_PORT/",
    ],
)
async def test_bad_webhook_urls_are_refused_and_change_nothing(stack: Stack, portal: Portal, url: str) -> None:
    assert stack.db is not None
    url = url.replace("GATEWAY_PORT", str(stack.gateway_port)).replace("GATEWAY", stack.gateway_url + "/v1/events")
    before = await endpoint_count(stack.db)
    response = await portal.api.put("/v1/webhook", json={"url": url})
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] in ("webhook_url_refused", "invalid_request")
    assert await endpoint_count(stack.db) == before
    assert (await portal.api.get("/v1/webhook")).json()["code"] == "webhook_not_configured"


async def test_a_put_updates_the_url_and_keeps_the_secret(portal: Portal, receiver: Receiver) -> None:
    first = await point(portal, receiver)
    again = await portal.api.put("/v1/webhook", json={"url": receiver.url + "/v2"})
    assert again.status_code == 200
    assert again.json()["secret"] is None and again.json()["url"] == receiver.url + "/v2"
    shown = (await portal.api.get("/v1/webhook")).json()
    assert shown["circuit"]["state"] == "closed" and shown["secret"] is None
    assert first["secret"] not in str(shown)


# What the portal reads for each way a receiver can break: a few fixed words, never the raw error.
TOLD = {
    "fail": "HTTP 503",
    "slow": "no answer within 2 s",
    "huge": "answer over the 65536 byte limit",
    "huge_chunked": "answer over the 65536 byte limit",
    "trickle": "no answer within 2 s",
    "malformed": "no valid HTTP answer",
    "close": "no valid HTTP answer",
}


@pytest.mark.parametrize("mode", list(TOLD))
async def test_broken_answers_are_failures(stack: Stack, portal: Portal, receiver: Receiver, mode: str) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    receiver.answer = lambda _d: mode
    [event_id] = await write_events(stack.db, portal.portal_id, 1, 1)

    async def failed_attempt() -> dict | None:
        log = (await portal.api.get("/v1/webhook/deliveries", params={"event_id": event_id})).json()["data"]
        return log[-1] if log else None

    attempt = await wait_for(failed_attempt, timeout=20, what=f"an attempt against a {mode} receiver")
    assert attempt["outcome"] == "failed" and attempt["error"] == TOLD[mode]
    assert attempt["latency_ms"] < 4000  # the 2 s bound of the test stack, plus scheduling
    assert (await states(stack.db, portal.portal_id)).get("delivered", 0) == 0


async def test_dead_letters_then_replay_of_all_since_a_time_and_of_one_event(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    receiver.answer = lambda _d: "fail"
    since = datetime.now(UTC) - timedelta(seconds=1)
    ids = await write_events(stack.db, portal.portal_id, 3, 3)

    async def dead() -> list[dict] | None:
        page = (await portal.api.get("/v1/webhook/dead-letters")).json()["data"]
        return page if len(page) == 3 else None

    letters = await wait_for(dead, timeout=60, what="three dead letters")
    assert sorted(x["event"]["id"] for x in letters) == sorted(ids)
    # each is given up after its 17th attempt, or, while the portal's circuit holds it back, after the whole
    # retry schedule has passed
    assert all(x["delivery"]["state"] == "dead" and 1 <= x["delivery"]["attempts"] <= 17 for x in letters)
    reasons = {"HTTP 503", "portal unreachable for the whole retry schedule"}
    assert {x["delivery"]["last_error"] for x in letters} <= reasons
    failures = len(receiver.deliveries)

    receiver.answer = lambda _d: "ok"
    headers = key()
    since_body = {"since": since.isoformat()}
    replay = await portal.api.post("/v1/webhook/dead-letters/replay", json=since_body, headers=headers)
    assert replay.status_code == 202 and replay.json() == {"replayed": 3}
    again = await portal.api.post("/v1/webhook/dead-letters/replay", json=since_body, headers=headers)
    assert again.json() == {"replayed": 3} and again.headers["Idempotent-Replayed"] == "true"
    await wait_for(lambda: len(receiver.deliveries) >= failures + 3, timeout=20, what="the replayed events")
    assert sorted(d.event["id"] for d in receiver.deliveries[failures:]) == sorted(ids)

    async def all_delivered() -> bool:
        return await states(stack.db, portal.portal_id) == {"delivered": 3}  # type: ignore[arg-type]

    await wait_for(all_delivered, what="the replayed events recorded as delivered")
    assert (await portal.api.get("/v1/webhook/dead-letters")).json()["data"] == []

    one = await portal.api.post(f"/v1/events/{ids[0]}/replay", headers=key())
    assert one.status_code == 202
    assert one.json()["event"]["id"] == ids[0] and one.json()["delivery"]["state"] == "pending"
    await wait_for(lambda: len(receiver.deliveries) == failures + 4, timeout=20, what="the replayed event")
    assert receiver.deliveries[-1].event["id"] == ids[0]


async def test_replay_of_an_unknown_or_foreign_event_is_not_found(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    async with stack.client() as other:  # the shared test portal: its events are not this portal's
        created = await other.post(
            "/v1/payments",
            json=payment_body(),
            headers=key(),
        )
        assert created.status_code == 201
    foreign = (await stack.client().get("/v1/events", params={"limit": 1})).json()["data"]
    for event_id in ["evt_unknown", *(e["id"] for e in foreign)]:
        response = await portal.api.post(f"/v1/events/{event_id}/replay", headers=key())
        assert response.status_code == 404, response.text


async def test_rotation_signs_with_both_secrets_until_the_old_one_expires(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    old = (await point(portal, receiver))["secret"]
    rotated = await portal.api.post("/v1/webhook/rotate-secret", json={"overlap_seconds": 3600}, headers=key())
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old and rotated.json()["previous_secret_expires_at"]
    receiver.secrets[:] = [new]
    await write_events(stack.db, portal.portal_id, 1, 1)
    delivery = await wait_for(lambda: receiver.verified() and receiver.verified()[0], what="a delivery")
    header = delivery.headers["gateway-signature"]
    assert header.count("v1=") == 2
    assert independent_verify(header, delivery.body, old, time.time())
    assert independent_verify(header, delivery.body, new, time.time())

    immediate = await portal.api.post("/v1/webhook/rotate-secret", json={"overlap_seconds": 0}, headers=key())
    newest = immediate.json()["secret"]
    receiver.secrets[:] = [newest]
    await write_events(stack.db, portal.portal_id, 1, 1)
    await wait_for(lambda: len(receiver.verified()) == 2, what="a delivery signed by the newest secret")
    last = receiver.deliveries[-1].headers["gateway-signature"]
    assert last.count("v1=") == 1 and not independent_verify(last, receiver.deliveries[-1].body, new, time.time())


async def test_a_test_event_is_sent_now_and_logged(portal: Portal, receiver: Receiver) -> None:
    missing = await portal.api.post("/v1/webhook/test", headers=key())
    assert missing.status_code == 404 and missing.json()["code"] == "webhook_not_configured"
    await point(portal, receiver)
    response = await portal.api.post("/v1/webhook/test", headers=key())
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["outcome"] == "delivered" and result["status_code"] == 200
    assert receiver.verified()[0].event == {
        **receiver.verified()[0].event,
        "type": "webhook.test",
        "id": result["event_id"],
    }
    log = (await portal.api.get("/v1/webhook/deliveries", params={"event_id": result["event_id"]})).json()["data"]
    assert len(log) == 1 and log[0]["outcome"] == "delivered"


async def test_one_dead_portal_does_not_slow_another(stack: Stack, portal: Portal, receiver: Receiver) -> None:
    assert stack.db is not None
    from .conftest import Portal as P
    from .conftest import new_portal

    dead_receiver = await Receiver(answer=lambda _d: "slow").start()
    dead_id, dead_key = await new_portal(stack, "Cổng chết")
    try:
        async with stack.client(dead_key) as dead_api:
            dead = P(dead_id, dead_api)
            await point(dead, dead_receiver)
            await point(portal, receiver)
            await write_events(stack.db, dead.portal_id, 100, 100)
            await asyncio.sleep(0)  # the dead portal's events are older: they are claimed first
            started = time.monotonic()
            ids = await write_events(stack.db, portal.portal_id, 100, 10)
            await wait_for(lambda: len(receiver.unique()) == len(ids), timeout=30, what="the live portal's events")
            assert time.monotonic() - started < 15

            async def tripped() -> bool:
                shown = (await dead_api.get("/v1/webhook")).json()
                return shown["circuit"]["state"] in ("open", "half_open")  # type: ignore[no-any-return]

            await wait_for(tripped, timeout=30, what="the dead portal's circuit to open")
            tried = len(dead_receiver.deliveries)
            assert tried < 30, f"{tried} attempts at a portal that never answers"
    finally:
        await dead_receiver.stop()
