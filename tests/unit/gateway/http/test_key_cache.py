"""The per-process cache of checked API keys: trusted while the revocation counter stands still, dropped when it
moves, trusted only briefly when the counter cannot be read, and never past a rotated key's overlap."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from adapters.vntime import now_utc
from gateway.http.auth import KeyCache
from gateway.portals.service import PortalContext

PORTAL = PortalContext(portal_id="ptl_a", key_id="key_a", agency_ids=frozenset())


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def test_a_cached_key_lasts_while_the_counter_stands_still(clock: list[float]) -> None:
    cache = KeyCache(ttl=10, fallback_ttl=2)
    cache.put("d", PORTAL, 7)
    clock[0] += 9
    assert cache.get("d", 7) == PORTAL
    clock[0] += 2
    assert cache.get("d", 7) is None  # past its time to live


def test_a_moved_counter_drops_the_key_at_once(clock: list[float]) -> None:
    cache = KeyCache(ttl=10, fallback_ttl=2)
    cache.put("d", PORTAL, 7)
    assert cache.get("d", 8) is None


def test_without_the_counter_a_key_is_trusted_only_for_the_fallback_time(clock: list[float]) -> None:
    cache = KeyCache(ttl=10, fallback_ttl=2)
    cache.put("d", PORTAL, 7)
    clock[0] += 1.5
    assert cache.get("d", None) == PORTAL
    clock[0] += 1
    assert cache.get("d", None) is None
    cache.put("e", PORTAL, None)  # cached while Redis was away: the counter's return drops it
    assert cache.get("e", 7) is None


def test_a_rotated_key_is_not_served_past_its_overlap(clock: list[float]) -> None:
    cache = KeyCache(ttl=10, fallback_ttl=2)
    ended = PortalContext(portal_id="ptl_a", key_id="key_b", agency_ids=frozenset(), key_expires_at=now_utc())
    going = PortalContext(
        portal_id="ptl_a", key_id="key_c", agency_ids=frozenset(), key_expires_at=now_utc() + timedelta(hours=1)
    )
    cache.put("b", ended, 7)
    cache.put("c", going, 7)
    assert cache.get("b", 7) is None
    assert cache.get("c", 7) == going


def test_the_fallback_is_never_longer_than_the_time_to_live() -> None:
    assert KeyCache(ttl=1, fallback_ttl=5).fallback_ttl == 1
