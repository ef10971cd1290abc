"""Secrets never printed, citizen id numbers masked, API keys parsed and compared strictly."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import ids
from gateway.logs import JsonFormatter, mask_id_number
from gateway.portals import keys
from gateway.settings import SettingsError, load


def test_id_numbers_are_masked_keeping_the_last_four_digits() -> None:
    assert mask_id_number("CCCD 001203004567 và CMND 012345678") == "CCCD ********4567 và CMND *****5678"
    assert mask_id_number("amount 150000 đồng, phone 0912345678") == "amount 150000 đồng, phone 0912345678"


def test_json_logs_mask_id_numbers_and_hide_secrets() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    extra = {"payer": {"id": "001203004567"}, "hash_key": "s3cret", "webhook_secret": "x1", "keys_purged": 3}
    logger.warning("payer 001203004567", extra=extra)
    entry = json.loads(stream.getvalue())
    assert "001203004567" not in stream.getvalue() and "s3cret" not in stream.getvalue()
    assert entry["message"] == "payer ********4567" and entry["hash_key"] == entry["webhook_secret"] == "***"
    assert entry["keys_purged"] == 3


def test_settings_need_the_hub_key_and_never_print_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        load({})
    secret = tmp_path / "key"
    secret.write_text("file-secret\n")
    settings = load({"PAYHUB_HASH_KEY_FILE": str(secret), "PAYMENT_TTL_SECONDS": "120"})
    assert settings.payhub_hash_key == "file-secret" and settings.payment_ttl_seconds == 120
    assert "file-secret" not in repr(settings)
    with pytest.raises(SettingsError):
        load({"PAYHUB_HASH_KEY": "x", "PAYMENT_TTL_SECONDS": "soon"})


def test_issued_keys_parse_and_match_only_their_own_secret() -> None:
    issued = keys.issue()
    parsed = keys.parse(issued.token)
    assert parsed is not None and parsed[0] == issued.key_id
    assert keys.matches(parsed[1], issued.secret_hash)
    assert not keys.matches(parsed[1] + "x", issued.secret_hash)
    assert issued.token not in issued.secret_hash


@given(st.text(max_size=80))
def test_arbitrary_tokens_never_parse_into_something_unexpected(token: str) -> None:
    parsed = keys.parse(token)
    if parsed is not None:
        key_id, secret = parsed
        assert token == f"gwk_{key_id.removeprefix('key_')}.{secret}"


def test_ids_sort_by_creation_and_hub_references_fit_the_protocol() -> None:
    made = [ids.new_id("pay") for _ in range(50)]
    assert all(i.startswith("pay_") and len(i) == 30 for i in made)
    reference = ids.new_hub_reference()
    assert len(reference) <= 20 and reference.isalnum()
