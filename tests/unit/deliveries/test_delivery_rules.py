"""Pure rules of event delivery: signatures, retry schedule, circuit breaker, webhook URLs, batching, cursors."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.deliveries import signing, urls
from gateway.deliveries.policy import Breaker, RetryPolicy
from gateway.deliveries.relay import pack
from gateway.deliveries.secret_box import SecretBox, new_secret
from gateway.errors import Problem
from gateway.events.feed import parse_cursor
from gateway.settings import load

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
SETTINGS = load({"PAYHUB_HASH_KEY": "unit"})


@given(body=st.binary(max_size=2000), secrets=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=3))
def test_every_secret_signs_the_timestamp_and_the_raw_body(body: bytes, secrets: list[str]) -> None:
    header = signing.header(secrets, 1_790_000_000, body)
    parts = header.split(",")
    assert parts[0] == "t=1790000000" and len(parts) == len(secrets) + 1
    for secret, part in zip(secrets, parts[1:], strict=True):
        expected = hmac.new(secret.encode(), b"1790000000." + body, hashlib.sha256).hexdigest()
        assert part == f"v1={expected}"
        assert signing.verify(header, body, secret, now=1_790_000_100)
    assert not signing.verify(header, body + b" ", secrets[0], now=1_790_000_100)
    assert not signing.verify(header, body, secrets[0], now=1_790_000_000 + 301)


def test_the_default_schedule_retries_for_about_a_day_then_gives_up() -> None:
    policy = RetryPolicy.from_settings(SETTINGS)
    assert policy.max_attempts == 17
    assert timedelta(hours=23) < policy.horizon < timedelta(hours=25)
    rng = random.Random(1)
    first = policy.next_attempt(1, NOW, rng)
    assert first is not None and timedelta(seconds=54) <= first - NOW <= timedelta(seconds=66)
    last = policy.next_attempt(16, NOW, rng)
    assert last is not None and timedelta(hours=5, minutes=24) <= last - NOW <= timedelta(hours=6, minutes=36)
    assert policy.next_attempt(17, NOW, rng) is None


@given(attempts=st.integers(min_value=1, max_value=16), seed=st.integers())
def test_a_retry_is_always_later_and_within_ten_percent_of_its_step(attempts: int, seed: int) -> None:
    policy = RetryPolicy.from_settings(SETTINGS)
    at = policy.next_attempt(attempts, NOW, random.Random(seed))
    assert at is not None
    step = policy.delays[attempts - 1]
    assert step * 0.9 <= (at - NOW).total_seconds() <= step * 1.1


def test_the_breaker_opens_at_the_threshold_and_backs_off_to_its_maximum() -> None:
    breaker = Breaker(threshold=5, cooldown=30, max_cooldown=600)
    assert breaker.open_until(4, NOW) is None and not breaker.half_open(4)
    assert breaker.open_until(5, NOW) == NOW + timedelta(seconds=30)
    assert breaker.open_until(6, NOW) == NOW + timedelta(seconds=60)
    assert breaker.open_until(50, NOW) == NOW + timedelta(seconds=600)
    assert breaker.half_open(5)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://portal.example.vn/x", "only http"),
        ("http://u:p@portal.example.vn/x", "credentials"),
        ("https://portal.example.vn/x#y", "fragment"),
        ("http:///x", "no host"),
        ("https://gateway.example.vn/v1/events", "itself"),
        ("https://GATEWAY.example.vn:443/", "itself"),
        ("http://127.0.0.1:8000/", "itself"),
        ("http://localhost:8000/", "itself"),
        ("http://[::1]:8000/", "itself"),
        ("http://0.0.0.0:8000/", "itself"),
        ("http://portal.example.vn/a b", "spaces"),
        ("http://portal.example.vn:70000/", "port"),
    ],
)
def test_refused_webhook_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(urls.BadUrl, match=reason):
        urls.check(url, "https://gateway.example.vn", listen_port=8000)


@pytest.mark.parametrize(
    "url", ["https://portal.example.vn/hooks", "http://10.0.0.5:8080/dvc", "http://127.0.0.1:9000/hooks"]
)
def test_ordinary_receivers_are_accepted(url: str) -> None:
    assert urls.check(url, "https://gateway.example.vn", listen_port=8000) == url


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["p1", "p2"]), st.sampled_from(["d1", "d2", "d3", "d4", "d5"])), max_size=120
    ),
    size=st.integers(min_value=1, max_value=20),
)
def test_packing_keeps_each_dossier_in_one_job_in_order(rows: list[tuple[str, str]], size: int) -> None:
    claimed = [(i, portal, dossier) for i, (portal, dossier) in enumerate(rows)]
    chunks = pack(claimed, "tok", size)
    assert sorted(p for c in chunks for p in c.positions) == list(range(len(rows)))
    home: dict[tuple[str, str], int] = {}
    for n, chunk in enumerate(chunks):
        assert chunk.positions == sorted(chunk.positions)
        for position in chunk.positions:
            _, portal, dossier = claimed[position]
            assert portal == chunk.portal_id
            assert home.setdefault((portal, dossier), n) == n


def test_secrets_are_sealed_and_opened_with_the_key_only() -> None:
    box = SecretBox.from_settings(SETTINGS)
    secret = new_secret()
    sealed = box.seal(secret)
    assert secret not in sealed and box.open(sealed) == secret and box.seal(secret) != sealed
    other = SecretBox.from_settings(load({"PAYHUB_HASH_KEY": "another"}))
    with pytest.raises(Exception):  # noqa: B017 - any failure to open is right
        other.open(sealed)


@given(st.text(max_size=45))
def test_a_feed_cursor_is_parsed_or_refused_with_a_problem(value: str) -> None:
    try:
        txid, position = parse_cursor(value)
    except Problem as exc:
        assert exc.code == "invalid_request" and exc.field == "after"
    else:
        assert value == f"{txid}-{position}" or value.lstrip("0") != value


@given(header=st.text(max_size=300))
def test_a_malformed_signature_header_is_simply_not_valid(header: str) -> None:
    body = b'{"id":"evt_1"}'
    good = signing.header(["whsec_x"], 1_790_000_000, body)
    for candidate in (header, good + header, header + "," + good, good.replace("t=", "t=" + header, 1)):
        result = signing.verify(candidate, body, "whsec_x", now=1_790_000_000)
        assert isinstance(result, bool)
        if not (candidate.isascii() and candidate.isprintable()):
            assert result is False
        if result:
            assert candidate.replace(" ", "").startswith(good)


@pytest.mark.parametrize(
    "header",
    ["t=1790000000²,v1=" + "0" * 64, "t=١٢٣,v1=abc", "t=1790000000,v1=é", "t=1,t=1790000000,v1=" + "0" * 64],
)
def test_non_ascii_or_repeated_parts_are_not_valid(header: str) -> None:
    assert signing.verify(header, b"{}", "whsec_x", now=1_790_000_000) is False
