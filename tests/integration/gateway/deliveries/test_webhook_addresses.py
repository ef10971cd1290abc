"""Server-side request forgery through the webhook URL: every form of an internal address is refused when the
URL is saved and again when it is used (a URL saved under an older rule, or a policy tightened since), with the
same plain answer; the portal learns "could not connect", never the raw error; nothing reaches the address."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from gateway.store.tables import deliveries as dt
from tests.support.services import wait_for
from tests.support.stack import Stack
from tests.support.webhook_receiver import Receiver

from .conftest import Portal, gateway_command, key, new_portal, point, states, write_events

REFUSED = "the URL's host must resolve only to public internet addresses"

# DECOY is a real receiver on 127.0.0.1: a form that reached it would show as a connection.
ALWAYS_REFUSED = [
    "http://127.0.0.1:DECOY/hooks",
    "http://[::ffff:127.0.0.1]:DECOY/hooks",
    "http://[::ffff:7f00:1]:DECOY/hooks",
    "http://[64:ff9b::7f00:1]:DECOY/hooks",
    "http://[::1]:DECOY/hooks",
    "http://localhost:DECOY/hooks",
    "http://LocalHost:DECOY/hooks",
    "http://0.0.0.0:DECOY/hooks",
    "http://[::]:DECOY/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fe80::1]/hooks",
    "http://224.0.0.1/hooks",
    "http://255.255.255.255/hooks",
    "http://240.0.0.1/hooks",
    "http://192.0.2.2/hooks",
    "http://nowhere.invalid/hooks",
    "GATEWAY/v1/payments",
]
PRIVATE = ["http://10.0.0.5/hooks", "http://172.16.0.1/hooks", "http://192.168.1.1/hooks", "http://100.64.0.1/"]
# Addresses in forms only some parsers read (a name ending in a number) are unreadable at save; stored anyway, the
# sender's resolver reads them as the address they mean, which is refused.
UNREADABLE = [
    "http://\u2488.example/hooks",
    "http://0177.0.0.1:DECOY/hooks",
    "http://[::1%25lo]:DECOY/",
    "http://127.1:DECOY/hooks",
    "http://2130706433:DECOY/hooks",
    "http://0x7f.1:DECOY/hooks",
    "http://0177.1:DECOY/hooks",
    "http://0:DECOY/hooks",
    "http://0x7f000001:DECOY/hooks",
]


def hostile(url: str, stack: Stack, decoy: Receiver) -> str:
    return url.replace("DECOY", str(decoy.port)).replace("GATEWAY", stack.gateway_url)


@pytest.fixture
async def decoy() -> AsyncIterator[Receiver]:
    r = await Receiver(host="127.0.0.1").start()
    yield r
    await r.stop()


async def test_every_form_of_an_internal_address_is_refused_at_save_and_changes_nothing(
    stack: Stack, portal: Portal, public_portal: Portal, decoy: Receiver, receiver: Receiver
) -> None:
    """``portal`` is allowed private networks, ``public_portal`` is not: loopback, link-local, metadata and the
    rest are refused for both; private networks for the second only."""
    assert stack.db is not None
    await point(portal, receiver)
    before = (await portal.api.get("/v1/webhook")).json()
    cases = [(portal, u) for u in ALWAYS_REFUSED] + [(public_portal, u) for u in ALWAYS_REFUSED + PRIVATE]
    for who, url in cases:
        response = await who.api.put("/v1/webhook", json={"url": hostile(url, stack, decoy)})
        assert response.status_code == 422, (url, response.text)
        problem = response.json()
        assert problem["code"] == "webhook_url_refused" and problem["field"] == "url", url
        assert problem["detail"].startswith(REFUSED) or "gateway itself" in problem["detail"], (url, problem)
    for url in UNREADABLE:
        response = await portal.api.put("/v1/webhook", json={"url": hostile(url, stack, decoy)})
        assert response.status_code == 422 and response.json()["code"] == "webhook_url_refused", url
        assert "cannot be read" in response.json()["detail"]
    assert (await portal.api.get("/v1/webhook")).json() == before
    assert (await public_portal.api.get("/v1/webhook")).json()["code"] == "webhook_not_configured"
    assert decoy.connections == 0
    for url in PRIVATE:  # an operator allowed these for ``portal``
        response = await portal.api.put("/v1/webhook", json={"url": url, "enabled": False})
        assert response.status_code == 200, (url, response.text)


async def _store_url(stack: Stack, portal_id: str, url: str) -> None:
    """A URL saved before these rules, or under a policy tightened since: straight into the table."""
    assert stack.db is not None
    async with stack.db.transaction() as tx:
        await tx.execute(
            update(dt.webhook_endpoints).where(dt.webhook_endpoints.c.portal_id == portal_id).values(url=url)
        )


async def test_a_stored_internal_url_is_refused_at_send_time_with_the_same_plain_answer(
    stack: Stack, portal: Portal, decoy: Receiver, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    for url in ALWAYS_REFUSED + UNREADABLE:
        await _store_url(stack, portal.portal_id, hostile(url, stack, decoy))
        response = await portal.api.post("/v1/webhook/test", headers=key())
        assert response.status_code == 200, (url, response.text)
        result = response.json()
        assert (result["outcome"], result["status_code"], result["error"]) == ("failed", None, "could not connect")
    log = (await portal.api.get("/v1/webhook/deliveries", params={"limit": 200})).json()["data"]
    assert {a["error"] for a in log} == {"could not connect"} and len(log) == len(ALWAYS_REFUSED + UNREADABLE)
    assert decoy.connections == 0 and receiver.connections == 0


async def test_the_worker_records_a_failed_attempt_for_every_hostile_url_and_never_connects(
    stack: Stack, decoy: Receiver, receiver: Receiver
) -> None:
    """One portal per URL, an event each: every one gets a recorded attempt (none stays pending without one)."""
    assert stack.db is not None
    portals: dict[str, str] = {}
    for url in ALWAYS_REFUSED + UNREADABLE:
        portal_id, api_key = await new_portal(stack, "Cổng lạ")
        async with stack.client(api_key) as api:
            await point(Portal(portal_id, api), receiver)
        await _store_url(stack, portal_id, hostile(url, stack, decoy))
        [event_id] = await write_events(stack.db, portal_id, 1, 1)
        portals[portal_id] = event_id

    async def attempted() -> bool:
        async with stack.db.read() as conn:  # type: ignore[union-attr]
            rows = await conn.execute(
                dt.delivery_attempts.select().where(dt.delivery_attempts.c.event_id.in_(list(portals.values())))
            )
            found = {r.event_id: r for r in rows}
        return len(found) == len(portals) and all(r.error == "could not connect" for r in found.values())

    await wait_for(attempted, timeout=60, what="a recorded failed attempt for every hostile URL")
    for portal_id in portals:  # waiting for its retry, or given up on after the (compressed) schedule
        assert set(await states(stack.db, portal_id)) <= {"pending", "dead"}
    assert decoy.connections == 0 and receiver.connections == 0


async def test_a_policy_tightened_after_the_save_is_applied_at_the_next_send(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    """The receiver's address is private (the test stack's WEBHOOK_PRIVATE_NETWORKS); the operator takes the
    portal's private networks away: the next delivery is a failed attempt, not a connection."""
    assert stack.db is not None
    await point(portal, receiver)
    assert (await portal.api.post("/v1/webhook/test", headers=key())).json()["outcome"] == "delivered"
    seen = receiver.connections

    denied = gateway_command(stack, "portal", "deny-private-webhooks", portal.portal_id)
    assert denied.returncode == 0, denied.stderr
    tested = (await portal.api.post("/v1/webhook/test", headers=key())).json()
    assert (tested["outcome"], tested["error"]) == ("failed", "could not connect")
    [event_id] = await write_events(stack.db, portal.portal_id, 1, 1)

    async def failed() -> list | None:
        log = (await portal.api.get("/v1/webhook/deliveries", params={"event_id": event_id})).json()["data"]
        return log or None

    [attempt] = await wait_for(failed, timeout=20, what="the attempt under the tightened policy")
    assert (attempt["outcome"], attempt["status_code"], attempt["error"]) == ("failed", None, "could not connect")
    assert receiver.connections == seen
    again = await portal.api.put("/v1/webhook", json={"url": receiver.url + "/v2"})
    assert again.status_code == 422 and again.json()["code"] == "webhook_url_refused"

    allowed = gateway_command(stack, "portal", "allow-private-webhooks", portal.portal_id)
    assert allowed.returncode == 0, allowed.stderr
    assert (await portal.api.post("/v1/webhook/test", headers=key())).json()["outcome"] == "delivered"
    missing = gateway_command(stack, "portal", "allow-private-webhooks", "ptl_nobody")
    assert missing.returncode != 0 and "no portal" in missing.stderr and "Traceback" not in missing.stderr


async def test_a_redirect_is_not_followed(stack: Stack, portal: Portal, receiver: Receiver, decoy: Receiver) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    receiver.answer = lambda _d: f"redirect:http://127.0.0.1:{decoy.port}/hooks"
    response = (await portal.api.post("/v1/webhook/test", headers=key())).json()
    assert (response["outcome"], response["status_code"], response["error"]) == ("failed", 302, "HTTP 302")
    assert decoy.connections == 0
