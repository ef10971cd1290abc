"""Webhook secrets under the gateway's own key: a secret that no configured key opens (its key removed too soon)
is a recorded delivery failure — attempts in the log, retries, dead letters, a metric — never a crashed job; and
the documented rotation (new key first, ``gateway webhook-secrets reencrypt``, old key out) brings it back."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select, update

from gateway.deliveries.secret_box import SecretBox, decode_key, new_key, new_secret
from gateway.store.tables import deliveries as dt
from tests.support.services import wait_for
from tests.support.stack import WEBHOOK_SECRETS_KEY, Stack
from tests.support.webhook_receiver import Receiver

from .conftest import Portal, gateway_command, key, point, states, write_events

NOT_SIGNED = "not sent: the gateway could not sign the event"
E = dt.webhook_endpoints.c


def not_signed_count(stack: Stack) -> float:
    text = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith('gateway_webhook_attempts_total{outcome="not_signed"}'):
            return float(line.split()[-1])
    return 0.0


async def test_a_secret_no_key_opens_is_a_recorded_failure_and_a_rotation_brings_it_back(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    assert stack.db is not None
    await point(portal, receiver)
    old_key = new_key()  # the key the secret was sealed under, no longer configured
    secret = new_secret()
    async with stack.db.transaction() as tx:
        sealed = SecretBox([decode_key(old_key)]).seal(secret, portal.portal_id)
        await tx.execute(update(dt.webhook_endpoints).where(E.portal_id == portal.portal_id).values(secret=sealed))
    receiver.secrets[:] = [secret]
    counted = not_signed_count(stack)

    tested = (await portal.api.post("/v1/webhook/test", headers=key())).json()
    assert (tested["outcome"], tested["status_code"], tested["error"]) == ("failed", None, NOT_SIGNED)
    ids = await write_events(stack.db, portal.portal_id, 3, 2)

    async def all_dead() -> list[dict] | None:
        page = (await portal.api.get("/v1/webhook/dead-letters")).json()["data"]
        return page if len(page) == len(ids) else None

    letters = await wait_for(all_dead, timeout=60, what="the unsigned events dead-lettered")
    assert {x["delivery"]["last_error"] for x in letters} <= {
        NOT_SIGNED,
        "portal unreachable for the whole retry schedule",
    }
    for event_id in ids:
        log = (await portal.api.get("/v1/webhook/deliveries", params={"event_id": event_id})).json()["data"]
        assert all(a["error"] == NOT_SIGNED and a["status_code"] is None for a in log)
    tried = len((await portal.api.get("/v1/webhook/deliveries", params={"limit": 200})).json()["data"])
    assert tried >= 2  # the first event of each dossier at least (the others wait behind it, then die with it)
    assert not_signed_count(stack) >= counted + tried - 1  # the worker's attempts (the test's was the web app's)
    assert receiver.connections == 0

    # the operator lists the old key after the current one, reseals, and the portal replays its dead letters
    rotated = gateway_command(
        stack, "webhook-secrets", "reencrypt", WEBHOOK_SECRETS_KEY=f"{WEBHOOK_SECRETS_KEY},{old_key}"
    )
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert report["resealed"] >= 1 and report["unreadable"] == []
    async with stack.db.read() as conn:
        stored = (await conn.execute(select(E.secret).where(E.portal_id == portal.portal_id))).scalar_one()
    assert SecretBox([decode_key(WEBHOOK_SECRETS_KEY)]).open(stored, portal.portal_id) == secret
    since = min(x["event"]["created_at"] for x in letters)
    replay = await portal.api.post("/v1/webhook/dead-letters/replay", json={"since": since}, headers=key())
    assert replay.status_code == 202 and replay.json()["replayed"] == len(ids)
    await wait_for(lambda: set(receiver.unique()) == set(ids), timeout=30, what="the events signed again")
    assert all(d.verified for d in receiver.deliveries)

    async def delivered() -> bool:
        return await states(stack.db, portal.portal_id) == {"delivered": len(ids)}  # type: ignore[arg-type]

    await wait_for(delivered, what="the replayed events recorded as delivered")


async def test_reencrypt_names_the_portals_whose_secret_no_key_opens(
    stack: Stack, portal: Portal, receiver: Receiver
) -> None:
    """Run with only a key that opens nothing: the stored secrets are reported, none is changed, and the command
    fails plainly."""
    assert stack.db is not None
    await point(portal, receiver)
    async with stack.db.read() as conn:
        before = sorted((await conn.execute(select(E.portal_id, E.secret))).all())
    other = gateway_command(stack, "webhook-secrets", "reencrypt", WEBHOOK_SECRETS_KEY=new_key())
    assert other.returncode != 0 and "Traceback" not in other.stderr
    report = json.loads(other.stdout)
    assert report["resealed"] == 0 and portal.portal_id in report["unreadable"]
    async with stack.db.read() as conn:
        assert sorted((await conn.execute(select(E.portal_id, E.secret))).all()) == before
    missing = gateway_command(stack, "webhook-secrets", "reencrypt", WEBHOOK_SECRETS_KEY="")
    assert missing.returncode != 0 and "WEBHOOK_SECRETS_KEY" in missing.stderr and "Traceback" not in missing.stderr
