"""The signed push: the published vector, secret rotation, the replay window and tampering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.postal import webhook
from adapters.postal.errors import WebhookRejected
from tests.support import vectors

VECTOR = vectors.load("postal-webhook")[0]
BODY = VECTOR["body"].encode()
T = VECTOR["t"]


def reason(header: str, body: bytes, secrets: list[str], now: int | datetime) -> str:
    with pytest.raises(WebhookRejected) as caught:
        webhook.verify(header, body, secrets, now)
    return caught.value.reason


def test_sign_matches_the_vector() -> None:
    assert webhook.sign(VECTOR["secret"], T, BODY) == VECTOR["signature_header"]


def test_the_vector_verifies_with_an_aware_now() -> None:
    now = datetime.fromtimestamp(T + 10, UTC)
    webhook.verify(VECTOR["signature_header"], BODY, [VECTOR["secret"]], now)


def test_rotation_any_v1_against_any_current_secret() -> None:
    header = webhook.sign(["old-secret", "new-secret"], T, BODY)
    assert header.count("v1=") == 2
    webhook.verify(header, BODY, ["new-secret"], T)
    webhook.verify(header, BODY, ["old-secret"], T)
    webhook.verify(webhook.sign("new-secret", T, BODY), BODY, ["old-secret", "new-secret"], T)
    assert reason(header, BODY, ["third-secret"], T) == "bad_signature"


def test_stale_and_future_timestamps_are_refused() -> None:
    header = VECTOR["signature_header"]
    webhook.verify(header, BODY, [VECTOR["secret"]], T + 300)
    assert reason(header, BODY, [VECTOR["secret"]], T + 301) == "stale"
    assert reason(header, BODY, [VECTOR["secret"]], T - 301) == "stale"


@given(st.integers(min_value=0, max_value=len(BODY) - 1), st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_refused(position: int, delta: int) -> None:
    changed = bytearray(BODY)
    changed[position] = (changed[position] + delta) % 256
    assert reason(VECTOR["signature_header"], bytes(changed), [VECTOR["secret"]], T) == "bad_signature"


def test_a_changed_t_is_refused() -> None:
    forged = VECTOR["signature_header"].replace(f"t={T}", f"t={T + 1}")
    assert reason(forged, BODY, [VECTOR["secret"]], T) == "bad_signature"


@pytest.mark.parametrize(
    "header", ["", "v1=abc", f"t={T}", "t=abc,v1=00", f"t={T},t={T},v1=00", "garbage", "t=1" + "0" * 3000]
)
def test_malformed_headers_are_refused(header: str) -> None:
    assert reason(header, BODY, [VECTOR["secret"]], T) == "malformed"
