"""Structured JSON logs on stderr. Citizen id numbers are masked and secrets never reach a record."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

# A CCCD has 12 digits and an old CMND 9: mask every run of 9 or 12 digits standing alone.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{9}|\d{12})(?!\d)")
_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}
_SECRET_WORDS = frozenset({"key", "secret", "password", "token", "authorization", "maxacthuc", "signature"})


def mask_id_number(text: str) -> str:
    """``001203004567`` → ``********4567``: keep the last four digits so staff can still tell records apart."""
    return _ID_NUMBER.sub(lambda m: "*" * (len(m.group(1)) - 4) + m.group(1)[-4:], text)


def _clean(name: str, value: Any) -> Any:
    if _SECRET_WORDS.intersection(name.lower().replace("-", "_").split("_")):
        return "***"
    if isinstance(value, str):
        return mask_id_number(value)
    if isinstance(value, dict):
        return {k: _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(name, v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_id_number(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _RESERVED and not name.startswith("_"):
                entry[name] = _clean(name, value)
        if record.exc_info:
            entry["error"] = mask_id_number(self.formatException(record.exc_info))
        return msgspec.json.encode(entry, enc_hook=str).decode()


def configure(level: str = "INFO", json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
