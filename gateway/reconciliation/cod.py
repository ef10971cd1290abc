"""The COD run: one day's statement from the post, matched against the cash we recorded it collected, recorded.

The statement is kept as the post sent it, under its SHA-256. A malformed one is a failed run with its reason and
nothing matched; a remittance that does not add up is not malformed but a ``cod_batch_mismatch`` break. Runs are
recorded as the settlement's are (``runs.record``): the same statement twice changes nothing, a different one for
the same day supersedes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from adapters.postal import PostalClient
from adapters.postal.errors import PostalProtocolError
from adapters.postal.statements import parse_cod_statement
from adapters.vntime import now_utc
from gateway.settings import Settings
from gateway.store.db import Database
from reconciliation.engine import CodRules, reconcile_cod

from . import files, ours
from .cod_findings import figures, summarise, writer
from .pipeline import OnCompleted, Phase, Progress, failed, new_run_values, quiet
from .runs import Kind, Recorded, RunStatus, Trigger, find_same_file, record

SUFFIX = ".json"
REFUSED = "bad_statement"
REFUSED_TEXT = (
    "Bảng kê tiền thu hộ của bưu điện không đúng mẫu hoặc không thuộc ngày được yêu cầu ({detail}). Không đối soát "
    "từ bảng kê này; hãy lấy lại bảng kê từ bưu điện."
)


@dataclass
class CodRuns:
    db: Database
    post: PostalClient
    settings: Settings
    on_completed: OnCompleted | None = None

    async def run(
        self,
        day: date,
        *,
        file: Path | None = None,
        trigger: Trigger = Trigger.SCHEDULE,
        started_by: str = "worker",
        progress: Progress = quiet,
    ) -> Recorded:
        """Reconcile ``day``'s COD statement (fetched from the post, or ``file``): the run that took it."""
        root = files.data_dir(self.settings)
        progress(Phase.DOWNLOAD)
        if file is not None:
            kept = await asyncio.to_thread(files.keep, file, root, SUFFIX, move=False)
        else:
            kept = await asyncio.to_thread(files.keep_bytes, await self.post.cod_statement_body(day), root, SUFFIX)
        already = await find_same_file(self.db, Kind.COD, day, kept.sha256)
        if already is not None:
            return Recorded(already, False)
        values = new_run_values(Kind.COD, day, kept, trigger, started_by, now_utc())
        progress(Phase.OURS)
        try:
            statement = parse_cod_statement(kept.path.read_bytes(), day)
        except PostalProtocolError as exc:
            refusal = failed(values, REFUSED, REFUSED_TEXT.format(detail=str(exc)[:300]), now_utc())
            return await record(self.db, refusal, now_utc())
        carry = await ours.carry_for(self.db, Kind.COD, day, self.settings)
        collections = await ours.cod_collections(self.db, carry)
        progress(Phase.MATCH)
        rules = CodRules(day, cutoff_days=self.settings.reconciliation_cod_cutoff_days)
        written = summarise(statement, reconcile_cod([statement], collections, rules), collections, day)
        progress(Phase.WRITE)
        done = {
            **values,
            **figures(written, statement, collections),
            "status": RunStatus.COMPLETED.value,
            "finished_at": now_utc(),
        }
        recorded = await record(self.db, done, now_utc(), writer(written, now_utc()))
        if recorded.new and self.on_completed is not None:
            await self.on_completed(recorded.run)
        return recorded
