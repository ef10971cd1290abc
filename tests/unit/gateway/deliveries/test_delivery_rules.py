"""Pure rules of event delivery: signatures, retry schedule, circuit breaker, batching, cursors."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.deliveries import signing
from gateway.deliveries.policy import Breaker, RetryPolicy
from gateway.deliveries.state import Candidate, fair_share, pack
from gateway.events.feed import parse_cursor
from gateway.kernel.errors import Refused
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


@given(st.text(max_size=45))
def test_a_feed_cursor_is_parsed_or_refused_with_a_problem(value: str) -> None:
    try:
        txid, position = parse_cursor(value)
    except Refused as exc:
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
        if result:  # only a header that carries the real signature, whatever other keys it adds
            assert good.split(",")[1] in candidate and "t=1790000000" in candidate


@pytest.mark.parametrize(
    "header",
    ["t=1790000000²,v1=" + "0" * 64, "t=١٢٣,v1=abc", "t=1790000000,v1=é", "t=1,t=1790000000,v1=" + "0" * 64],
)
def test_non_ascii_or_repeated_parts_are_not_valid(header: str) -> None:
    assert signing.verify(header, b"{}", "whsec_x", now=1_790_000_000) is False


def _candidates(backlogs: dict[str, int]) -> dict[str, list[Candidate]]:
    """Each portal's due events, positions interleaved the way a busy outbox mixes them."""
    found: dict[str, list[Candidate]] = {}
    position = 0
    for n in range(max(backlogs.values(), default=0)):
        for portal, size in backlogs.items():
            if n < size:
                position += 1
                found.setdefault(portal, []).append(Candidate(position, f"{portal}-d{n % 7}", n // 7 + 1))
    return found


@given(
    backlogs=st.dictionaries(st.sampled_from(["p1", "p2", "p3", "p4"]), st.integers(0, 300), min_size=1),
    rooms=st.dictionaries(st.sampled_from(["p1", "p2", "p3", "p4"]), st.integers(1, 200)),
    limit=st.integers(1, 500),
)
def test_claims_are_shared_round_robin_within_each_portals_room(
    backlogs: dict[str, int], rooms: dict[str, int], limit: int
) -> None:
    candidates = _candidates(backlogs)
    chosen = fair_share(candidates, {}, rooms, limit)
    owner = {c.position: p for p, rows in candidates.items() for c in rows}
    taken = {p: [x for x in chosen if owner[x] == p] for p in candidates}
    assert len(chosen) == len(set(chosen)) <= limit
    wanting = {p: min(len(rows), rooms.get(p, 0)) for p, rows in candidates.items()}
    for portal, mine in taken.items():
        assert len(mine) <= rooms.get(portal, 0)
        assert mine == sorted(mine) == [c.position for c in candidates[portal]][: len(mine)]  # oldest first
        # nobody is starved: each gets its share of the limit, or all it may take
        assert len(mine) >= min(wanting[portal], limit // max(1, sum(1 for w in wanting.values() if w)))
    assert len(chosen) == min(limit, sum(wanting.values()))


def test_one_portals_backlog_does_not_take_the_claim_from_another() -> None:
    candidates = {"noisy": [Candidate(i, f"d{i}", 1) for i in range(1, 5001)], "quiet": [Candidate(9000, "q", 1)]}
    chosen = fair_share(candidates, {}, {"noisy": 200, "quiet": 200}, limit=500)
    assert 9000 in chosen and len(chosen) == 201


def test_an_event_waits_behind_an_earlier_one_of_its_dossier() -> None:
    candidates = {"p": [Candidate(1, "a", 2), Candidate(2, "b", 1), Candidate(3, "a", 3)]}
    assert fair_share(candidates, {("p", "a"): 1}, {"p": 10}, 10) == [2]
    assert fair_share(candidates, {}, {"p": 10}, 10) == [1, 2, 3]
