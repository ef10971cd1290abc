"""Every refusal code is documented, has one HTTP status, and unknown codes cannot be raised."""

from pathlib import Path

import pytest

from gateway.http.problems import BUSINESS_RULE, STATUS, status_of
from gateway.kernel.errors import CODES, Refused

DOC = Path(__file__).resolve().parents[4] / "docs" / "errors.md"


def test_every_code_is_in_the_errors_document() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing, f"document these codes in docs/errors.md: {missing}"


def test_an_undeclared_code_cannot_be_raised() -> None:
    with pytest.raises(ValueError):
        Refused("made_up_code")


def test_every_status_is_for_a_declared_code() -> None:
    assert set(STATUS) <= set(CODES)
    assert status_of("unknown_fee") == BUSINESS_RULE and status_of("hub_unavailable") == 503
