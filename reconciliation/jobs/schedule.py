"""Turning 'every N seconds' into arq cron arguments."""

from __future__ import annotations

from typing import Any


def every(seconds: int) -> dict[str, Any]:
    """cron() arguments for 'every ``seconds``' (a divisor of 60 seconds, or a whole number of minutes)."""
    if seconds < 60:
        return {"second": set(range(0, 60, max(1, seconds)))}
    return {"minute": set(range(0, 60, max(1, seconds // 60))), "second": {0}}
