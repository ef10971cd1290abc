"""Every problem code the API can answer with is documented, and unknown codes cannot be raised."""

from pathlib import Path

import pytest

from gateway.errors import CODES, Problem

DOC = Path(__file__).resolve().parents[3] / "docs" / "errors.md"


def test_every_code_is_in_the_errors_document() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [code for code in CODES if f"`{code}`" not in text]
    assert not missing, f"document these codes in docs/errors.md: {missing}"


def test_an_undeclared_code_cannot_be_raised() -> None:
    with pytest.raises(ValueError):
        Problem(400, "made_up_code")
