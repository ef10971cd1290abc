"""What both runs share: their phases (for a progress bar), the run row's common columns, and the hook called
when a run completed."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from gateway.ids import new_id

from .files import KeptFile
from .runs import Run, RunStatus, Trigger


class Phase(enum.StrEnum):
    DOWNLOAD = "download"  # fetch (or take) the file and keep it
    OURS = "ours"  # verify the file and read our records, side by side
    MATCH = "match"
    WRITE = "write"  # record the run, its totals and breaks


PHASES = tuple(Phase)
LABELS = {
    Phase.DOWNLOAD: "tải tệp",
    Phase.OURS: "kiểm tra tệp và đọc sổ của hệ thống",
    Phase.MATCH: "đối soát",
    Phase.WRITE: "ghi chênh lệch",
}

Progress = Callable[[Phase], None]
# Called after a run completed and committed (not for a refused file, nor for the same file twice): the place to
# start what follows a run, such as the automatic resolution of its breaks.
OnCompleted = Callable[[Run], Awaitable[None]]


def quiet(_phase: Phase) -> None:
    """No progress shown."""


def new_run_values(
    kind: str, day: date, kept: KeptFile, trigger: Trigger, started_by: str, started_at: datetime
) -> dict[str, Any]:
    return {
        "id": new_id("rcr"),
        "kind": kind,
        "day": day,
        "trigger": trigger.value,
        "started_by": started_by,
        "file_sha256": kept.sha256,
        "file_path": str(kept.path),
        "file_bytes": kept.size,
        "classes": {},
        "started_at": started_at,
    }


def failed(values: dict[str, Any], code: str, message: str, finished_at: datetime) -> dict[str, Any]:
    """A refused file's run: its reason, nothing matched."""
    return {
        **values,
        "status": RunStatus.FAILED.value,
        "refusal_code": code,
        "refusal_message": message[:1000],
        "finished_at": finished_at,
    }
