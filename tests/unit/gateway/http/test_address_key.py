"""Which budget a client address counts against in the per-address limits (receipt lookup, staff sign-in)."""

from __future__ import annotations

import pytest

from gateway.http.ratelimit import address_key


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # the same IPv4 client, written as IPv6
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # elsewhere in the same /64: the same budget
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64: its own
        ("", "no-address"),
        (None, "no-address"),
        ("testclient", "peer:testclient"),
    ],
)
def test_an_address_counts_against_its_own_block(peer: str | None, key: str) -> None:
    assert address_key(peer) == key
