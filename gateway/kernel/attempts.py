"""An attempt at an idempotent request, as the areas see it: whose key it is, and the resource a previous attempt
with the same key left to resume (``resume_id``). The HTTP edge claims the key; the area binds what it creates to
the attempt in the same transaction (``UnitOfWork.bind``), so a retry resumes it instead of making another."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    owner: str  # the portal whose key it is
    key: str
    resume_id: str | None = None
