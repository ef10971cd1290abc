"""The known-answer vectors of the protocols, kept with the shared specs beside this repository."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PATH = Path(os.environ.get("PROTOCOL_VECTORS", ROOT.parent / "shared" / "specs" / "vectors" / "protocols.json"))


def load(message: str | None = None) -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(PATH.read_text(encoding="utf-8"))
    return [v for v in vectors if message is None or v["message"] == message]
