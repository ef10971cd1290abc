"""Export of the portal API's OpenAPI document: the file in ``openapi/`` is generated here and checked by a test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.settings import load


def document() -> dict[str, Any]:
    from gateway.app import create_app
    from gateway.deliveries import new_key

    settings = load({"PAYHUB_HASH_KEY": "openapi-export", "WEBHOOK_SECRETS_KEY": new_key()}, log_json=False)
    app = create_app(settings)
    return app.openapi_schema.to_schema()


def render() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def export(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
