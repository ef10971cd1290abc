from pathlib import Path

from gateway.openapi import render

DOCUMENT = Path(__file__).resolve().parents[4] / "openapi" / "openapi.json"


def test_the_committed_openapi_document_matches_the_app() -> None:
    assert DOCUMENT.exists(), "run: make openapi"
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "openapi/openapi.json is stale: run `make openapi`"
