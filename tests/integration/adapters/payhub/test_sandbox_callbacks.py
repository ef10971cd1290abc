"""CONFIRM callbacks from the running sandbox to a real receiver: delivery, the scaled ladder, and faults."""

from __future__ import annotations

import itertools
import time

import httpx

from adapters.payhub import Outcome, PayhubClient, Reply, parse_confirm
from tests.support.payhub_sandbox import (
    CALLBACK_TIMEOUT,
    KEY,
    PARTNER,
    TIME_SCALE,
    Receiver,
    callbacks_of,
    eventually,
    init_order,
    pay,
    set_faults,
)

LADDER = [minutes * 60 * TIME_SCALE for minutes in (1, 5, 15, 60, 360)]
TIMEOUT = CALLBACK_TIMEOUT * TIME_SCALE


async def opened(client: PayhubClient, *references: str, amount: int = 150_000) -> None:
    for reference in references:
        await client.init(init_order(reference, amount))


async def delivered(control: httpx.AsyncClient, reference: str, count: int = 1) -> list[dict]:
    """Wait until ``count`` deliveries of the reference have ended; returns them."""
    return await eventually(
        lambda: callbacks_of(control, reference),
        lambda ds: len(ds) >= count and all(d["status"] not in ("pending", "held") for d in ds),
    )


async def test_paid_order_is_confirmed_once_with_an_integer_amount(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-OK")
    paid = await pay(control, "REF-CB-OK")

    calls = await receiver.wait_for(1)
    [delivery] = await delivered(control, "REF-CB-OK")

    assert calls[0].result is not None
    assert calls[0].result.outcome is Outcome.PAID
    assert calls[0].result.transaction_id == paid["MaGiaoDich"]
    assert calls[0].json["SoTien"] == 150_000
    assert delivery["status"] == "delivered"
    assert [(a["http_status"], a["reply_code"], a["verified"]) for a in delivery["attempts"]] == [(200, "00", True)]


async def test_callback_is_retried_along_the_scaled_ladder_until_a_final_reply(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-LADDER")
    receiver.plan("99", "http500", "stall", "00")
    await pay(control, "REF-CB-LADDER")

    calls = await receiver.wait_for(4)
    [delivery] = await delivered(control, "REF-CB-LADDER")

    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert gaps[0] >= LADDER[0]
    assert gaps[1] >= LADDER[1]
    assert gaps[2] >= TIMEOUT + LADDER[2] - 0.02  # the timeout runs from the end of sending, not arrival
    attempts = [(a["http_status"], a["reply_code"], a["error"]) for a in delivery["attempts"]]
    assert attempts == [(200, "99", ""), (500, None, ""), (None, None, "ReadTimeout"), (200, "00", "")]
    assert delivery["status"] == "delivered"


async def test_reply_that_does_not_verify_is_not_final(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-BADACK")
    receiver.plan("badsig", "00")
    await pay(control, "REF-CB-BADACK")

    [delivery] = await delivered(control, "REF-CB-BADACK")

    assert [(a["reply_code"], a["verified"]) for a in delivery["attempts"]] == [("00", False), ("00", True)]


async def test_sender_gives_up_after_the_last_step_of_the_ladder(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-GIVEUP")
    receiver.plan(*["99"] * 6)
    await pay(control, "REF-CB-GIVEUP")

    [delivery] = await delivered(control, "REF-CB-GIVEUP")

    assert delivery["status"] == "gave_up"
    assert len(delivery["attempts"]) == 6
    assert len(receiver.calls) == 6


async def test_cancelled_checkout_is_confirmed_with_24(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-24")
    await pay(control, "REF-CB-24", result="24")

    [call] = await receiver.wait_for(1)

    assert call.result is not None
    assert (call.result.raw_code, call.result.outcome) == ("24", Outcome.CANCELLED)


async def test_drop_fault_never_sends_the_next_callbacks(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-DROP1", "REF-CB-SENT")
    await set_faults(control, {"callback": {"drop": 1}})
    await pay(control, "REF-CB-DROP1")
    await pay(control, "REF-CB-SENT")

    calls = await receiver.wait_for(1)
    [dropped] = await callbacks_of(control, "REF-CB-DROP1")
    faults = (await control.get("/faults")).json()

    assert [c.json["MaThamChieu"] for c in calls] == ["REF-CB-SENT"]
    assert (dropped["status"], dropped["attempts"]) == ("dropped", [])
    assert faults["callback"]["drop"] == 0


async def test_repeat_fault_delivers_each_callback_several_times(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-REPEAT")
    await set_faults(control, {"callback": {"repeat": 3}})
    await pay(control, "REF-CB-REPEAT")

    calls = await receiver.wait_for(3)

    assert {c.body for c in calls} == {calls[0].body}
    assert all(c.rejected is None for c in calls)


async def test_delay_fault_holds_the_first_attempt(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-DELAY")
    await set_faults(control, {"callback": {"delay_seconds": 0.3}})
    started = time.monotonic()
    await pay(control, "REF-CB-DELAY")

    [call] = await receiver.wait_for(1)

    assert call.at - started >= 0.3


async def test_reorder_fault_releases_held_callbacks_newest_first(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-A", "REF-CB-B", "REF-CB-C")
    await set_faults(control, {"callback": {"reorder": True}})
    for reference in ("REF-CB-A", "REF-CB-B", "REF-CB-C"):
        await pay(control, reference)
    held = [d["status"] for d in (await control.get("/callbacks")).json()]
    sent_before_release = len(receiver.calls)

    released = (await control.post("/callbacks/release")).json()
    calls = await receiver.wait_for(3)

    assert held == ["held", "held", "held"]
    assert sent_before_release == 0
    assert [d["reference"] for d in released] == ["REF-CB-C", "REF-CB-B", "REF-CB-A"]
    assert [c.json["MaThamChieu"] for c in calls] == ["REF-CB-C", "REF-CB-B", "REF-CB-A"]


async def test_alter_amount_fault_signs_a_wrong_amount(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-ALTER")
    await set_faults(control, {"callback": {"alter_amount": 1_000}})
    await pay(control, "REF-CB-ALTER")

    [call] = await receiver.wait_for(1)

    assert call.rejected is None
    assert call.result is not None
    assert call.result.amount == 151_000


async def test_bad_checksum_fault_is_refused_by_the_partner_and_not_retried(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-BADSUM")
    await set_faults(control, {"callback": {"bad_checksum": True}})
    await pay(control, "REF-CB-BADSUM")

    [call] = await receiver.wait_for(1)
    [delivery] = await delivered(control, "REF-CB-BADSUM")

    assert call.rejected is Reply.BAD_CHECKSUM
    assert [a["reply_code"] for a in delivery["attempts"]] == ["01"]


async def test_genuine_callback_body_can_be_fetched_and_resent(
    client: PayhubClient, control: httpx.AsyncClient, receiver: Receiver
) -> None:
    await opened(client, "REF-CB-RESEND")
    await set_faults(control, {"callback": {"bad_checksum": True}})
    await pay(control, "REF-CB-RESEND")
    await receiver.wait_for(1)

    body = (await control.get("/payments/REF-CB-RESEND/callback")).json()
    resent = (await control.post("/payments/REF-CB-RESEND/callback/resend")).json()
    calls = await receiver.wait_for(2)

    assert parse_confirm(httpx.Response(200, json=body).content, PARTNER, KEY).amount == 150_000
    assert resent["status"] == "delivered"
    assert calls[1].json == body
    assert calls[1].rejected is None


async def test_callback_body_of_an_unpaid_order_is_a_conflict(
    client: PayhubClient, control: httpx.AsyncClient
) -> None:
    await opened(client, "REF-CB-UNPAID")

    assert (await control.get("/payments/REF-CB-UNPAID/callback")).status_code == 409
