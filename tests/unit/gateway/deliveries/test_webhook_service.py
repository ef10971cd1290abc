"""The portal's webhook controls (``WebhookService``) on a real SQLite store: the endpoint and its secret, the
address check at the save, the test event, rotation, the delivery log and replays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.vntime import now_utc
from gateway import portals
from gateway.deliveries import WebhookService, WebhookTools
from gateway.deliveries.schemas import RotateSecret
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.settings import Settings
from gateway.store import idempotency
from gateway.store.db import Database

from .conftest import URL, Receiver, write_events


@pytest.fixture
def hooks(db: Database, tools: WebhookTools, settings: Settings) -> WebhookService:
    return WebhookService(db, tools, settings)


async def test_a_new_endpoint_shows_its_secret_once_and_a_change_keeps_it(
    hooks: WebhookService, portal_id: str
) -> None:
    made, created = await hooks.configure(portal_id, URL, True)
    assert created and made.secret is not None and made.secret.startswith("whsec_")
    assert made.circuit.state == "closed" and made.url == URL
    changed, created = await hooks.configure(portal_id, URL + "/v2", False)
    assert not created and changed.secret is None
    shown = await hooks.show(portal_id)
    assert (shown.url, shown.enabled, shown.secret) == (URL + "/v2", False, None)


async def test_an_endpoint_not_configured_is_refused_everywhere(hooks: WebhookService, portal_id: str) -> None:
    for attempt in (
        hooks.show(portal_id),
        hooks.test(portal_id),
        hooks.rotate(portal_id, Attempt(portal_id, "rotate-0"), None),
        hooks.replay_one(portal_id, "evt_" + "0" * 26),
        hooks.replay_dead(portal_id, now_utc()),
    ):
        with pytest.raises(Refused) as refused:
            await attempt
        assert refused.value.code == "webhook_not_configured"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/hook", "http://169.254.169.254/latest", "ftp://example.org/x", "http://u:p@10.0.0.1/"]
)
async def test_a_url_the_sender_would_refuse_is_refused_at_the_save(
    hooks: WebhookService, portal_id: str, url: str
) -> None:
    with pytest.raises(Refused) as refused:
        await hooks.configure(portal_id, url, True)
    assert refused.value.code == "webhook_url_refused" and refused.value.field == "url"


async def test_a_private_address_needs_the_operators_consent(hooks: WebhookService, db: Database) -> None:
    other, _ = await portals.create_portal(db, "Cổng khác")
    with pytest.raises(Refused) as refused:
        await hooks.configure(other, URL, True)
    assert refused.value.code == "webhook_url_refused"
    assert await portals.set_private_webhooks(db, other, True)
    assert (await hooks.configure(other, URL, True))[1]


async def test_the_test_event_is_signed_and_logged(hooks: WebhookService, portal_id: str, receiver: Receiver) -> None:
    made, _ = await hooks.configure(portal_id, URL, True)
    receiver.secrets = [str(made.secret)]
    sent = await hooks.test(portal_id)
    assert (sent.outcome, sent.status_code, sent.error) == ("delivered", 200, "")
    [(event_id, body, verified)] = receiver.got
    assert (event_id, body["id"], body["type"], verified) == (sent.event_id, sent.event_id, "webhook.test", True)
    receiver.status = 503
    failed = await hooks.test(portal_id)
    assert (failed.outcome, failed.status_code, failed.error) == ("failed", 503, "HTTP 503")
    log = await hooks.attempts(portal_id, None, None, 50)
    assert [(a.event_id, a.outcome) for a in log.data] == [(failed.event_id, "failed"), (sent.event_id, "delivered")]
    one = await hooks.attempts(portal_id, sent.event_id, None, 1)
    assert [a.event_id for a in one.data] == [sent.event_id] and one.next_cursor is None


async def claimed(db: Database, portal_id: str, key: str) -> Attempt:
    """The attempt of a rotation whose Idempotency-Key the edge claimed, as it claims every POST's."""
    asked = idempotency.Request(portal_id, key, "POST", "/v1/webhook/rotate", key)
    attempt = await idempotency.claim(db, asked, now_utc())
    assert isinstance(attempt, Attempt)
    return attempt


async def test_a_rotated_secret_signs_with_the_old_one_during_the_overlap(
    hooks: WebhookService, portal_id: str, receiver: Receiver, db: Database
) -> None:
    made, _ = await hooks.configure(portal_id, URL, True)
    first = await claimed(db, portal_id, "rotate-1")
    rotated = await hooks.rotate(portal_id, first, RotateSecret(overlap_seconds=3600))
    assert rotated.secret is not None and rotated.secret != made.secret
    assert rotated.previous_secret_expires_at is not None
    assert rotated.previous_secret_expires_at > now_utc() + timedelta(minutes=59)
    for only in (str(made.secret), str(rotated.secret)):  # either secret verifies the signature
        receiver.secrets = [only]
        await hooks.test(portal_id)
        assert receiver.got[-1][2]
    at_once = await hooks.rotate(portal_id, await claimed(db, portal_id, "rotate-2"), RotateSecret(overlap_seconds=0))
    assert at_once.previous_secret_expires_at is None
    receiver.secrets = [str(rotated.secret)]
    await hooks.test(portal_id)
    assert not receiver.got[-1][2]


async def test_replaying_one_event_queues_it_again(hooks: WebhookService, db: Database, portal_id: str) -> None:
    await hooks.configure(portal_id, URL, True)
    [event_id] = await write_events(db, portal_id, ["HS-1"])
    replayed = await hooks.replay_one(portal_id, event_id)
    assert replayed.event.id == event_id and replayed.event.data == {"n": 0}
    assert (replayed.delivery.state, replayed.delivery.attempts) == ("pending", 0)
    with pytest.raises(Refused) as refused:
        await hooks.replay_one(portal_id, "evt_" + "0" * 26)
    assert refused.value.code == "not_found"
    other, _ = await portals.create_portal(db, "Cổng khác")
    await portals.set_private_webhooks(db, other, True)
    await hooks.configure(other, URL, True)
    with pytest.raises(Refused):  # another portal's event is as unknown as none
        await hooks.replay_one(other, event_id)
