"""What the HTTP benchmarks prepare must be what the gateway accepts: CONFIRM callbacks signed with the hub's
checksum, postal pushes signed over their body with a fresh timestamp, one placeholder per creation template."""

from __future__ import annotations

import time

import msgspec

from adapters.payhub import Outcome, parse_confirm
from adapters.postal import parse_event
from adapters.postal import webhook as signatures
from bench import seed
from bench.load import PLACEHOLDER
from tests.support.stack import HASH_KEY, PARTNER, POSTAL_SECRET

ITEM = {
    "id": 7,
    "originalId": "OD00000001",
    "itemCode": "EB100000003VN",
    "saleOrderCode": "shp_template",
    "status": 3,
    "statusName": "",
    "time": "2026-07-01T08:30:15",
}


def _fields(line: str) -> tuple[dict[str, str], bytes]:
    *headers, body = line.split("\t")
    return dict(h.split(": ", 1) for h in headers), body.encode()


def test_callback_bodies_verify_with_the_gateways_own_parser() -> None:
    payment = seed.PaymentSeed("pay_1", "PG2607010000000001", 150_000, "portal", "000.00.01.H26-1")
    lines = seed.callback_lines([payment])
    _, body = _fields(lines[0])
    result = parse_confirm(body, PARTNER, HASH_KEY)
    assert (result.reference, result.outcome, result.amount) == (payment.reference, Outcome.PAID, 150_000)


def test_pushes_are_signed_for_now_and_name_their_clone() -> None:
    items = seed.postal_items([ITEM], [("shp_a", "BN1"), ("shp_b", "BN2")])
    assert [(i["saleOrderCode"], i["originalId"]) for i in items] == [("shp_a", "BN1"), ("shp_b", "BN2")]
    for line in seed.push_lines(items, POSTAL_SECRET):
        headers, body = _fields(line)
        signatures.verify(headers[signatures.HEADER], body, [POSTAL_SECRET], int(time.time()))
        assert parse_event(body).original_id in ("BN1", "BN2")


def test_events_of_one_parcel_are_spread_through_the_run() -> None:
    second = {**ITEM, "id": 8, "status": 4}
    clones = [(f"shp_{n}", f"BN{n}") for n in range(3)]
    order = [(i["originalId"], i["status"]) for i in seed.postal_items([ITEM, second], clones)]
    assert order == [("BN0", 3), ("BN1", 3), ("BN2", 3), ("BN0", 4), ("BN1", 4), ("BN2", 4)]


def test_a_creation_template_has_a_placeholder_for_its_key_and_dossier() -> None:
    headers, body = _fields(seed.creation_line("key"))
    assert headers["Idempotency-Key"].endswith(PLACEHOLDER)
    assert msgspec.json.decode(body)["dossier_code"].endswith(PLACEHOLDER)
    assert headers["Authorization"] == "Bearer key"
