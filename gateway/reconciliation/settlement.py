"""The settlement run: one day's file from the hub, verified, matched against our payments and refunds, recorded.

    recorded = await SettlementRuns(db, hub, settings).run(day)            # downloads D's file
    recorded = await SettlementRuns(...).run(day, file=path, signature=…)   # a file on disk

The file is kept under the data directory by its SHA-256 before anything else. The same file as the day's current
run's answers that run and changes nothing; a refused file is a failed run with its reason and nothing matched from
it; otherwise the engine (``reconciliation``) matches it, a row of a payment another day's file settled too (an
earlier day's, or a later day's reconciled first) is told apart (``settled_again``), and the run is recorded with its
totals per agency, its breaks and the records it leaves waiting, in one transaction under the day's lock
(``runs.record``). What a run reads of the days around it (the run it carries records from, the later runs that may
have settled its payments) is read before it matches; if a run of one of those days became current meanwhile, the
run is not recorded but made again (``runs.NeighboursChanged``), so of two runs of neighbouring days recorded at once
the second has always seen the first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from adapters.payhub import PayhubClient
from adapters.payhub.settlement import FileRefused, VerifiedFile, scan_settlement, verify_settlement_file
from adapters.vntime import now_utc
from gateway import portals
from gateway.settings import Settings
from gateway.store.db import Database
from reconciliation.engine import MatchRules, RecordSpool, reconcile_settlement

from . import files, ours, settled_again
from .pipeline import OnCompleted, Phase, Progress, failed, new_run_values, quiet
from .runs import Kind, NeighboursChanged, Recorded, RunStatus, Trigger, find_same_file, neighbours_of, record
from .settlement_findings import Written, figures, settled_payments, summarise, writer

SUFFIX = ".csv"
ATTEMPTS = 3  # a run is made again when a run of a day around it was recorded meanwhile (runs.NeighboursChanged)


@dataclass
class SettlementRuns:
    db: Database
    hub: PayhubClient
    settings: Settings
    on_completed: OnCompleted | None = None

    async def run(
        self,
        day: date,
        *,
        file: Path | None = None,
        signature: str | None = None,
        trigger: Trigger = Trigger.SCHEDULE,
        started_by: str = "worker",
        progress: Progress = quiet,
    ) -> Recorded:
        """Reconcile ``day``'s file (downloaded, or ``file`` with the hub's ``signature``): the run that took it."""
        root = files.data_dir(self.settings)
        progress(Phase.DOWNLOAD)
        kept, signature = await self._obtain(day, file, signature, root)
        already = await find_same_file(self.db, Kind.SETTLEMENT, day, kept.sha256)
        if already is not None:
            return Recorded(already, False)
        lookback, attempt = self.settings.reconciliation_lookback_days, 1
        while True:
            # the days around as they stand before anything is read, then the run's start: a run they hold finished
            # before this one started (``settled_again`` relies on that order)
            seen = (lookback, await neighbours_of(self.db, Kind.SETTLEMENT, day, lookback))
            values = new_run_values(Kind.SETTLEMENT, day, kept, trigger, started_by, now_utc())
            try:
                recorded = await self._attempt(day, kept, signature, values, seen, root, progress)
                break
            except NeighboursChanged:
                if attempt == ATTEMPTS:
                    raise
                attempt += 1
        if recorded.new and self.on_completed is not None:
            await self.on_completed(recorded.run)
        return recorded

    async def _attempt(
        self,
        day: date,
        kept: files.KeptFile,
        signature: str | None,
        values: dict[str, object],
        seen: tuple[int, dict[date, str]],
        root: Path,
        progress: Progress,
    ) -> Recorded:
        """One reading and matching of the file, recorded unless a run of a day around it became current meanwhile
        (``NeighboursChanged``: what it read of those days may be stale, and it is made again)."""
        work = files.run_dir(root, str(values["id"]))
        work.mkdir(parents=True, exist_ok=True)
        # Verifying the file (a thread) and reading our records (the database) do not depend on each other until
        # the match: they run side by side, and a refused file leaves nothing of the read behind.
        verifying = asyncio.ensure_future(self._verify(kept.path, day, signature))
        progress(Phase.OURS)
        spool = RecordSpool(work / "ours")
        reading = asyncio.ensure_future(self._read_ours(day, spool))
        try:
            try:
                verified = await verifying
            except BaseException:  # a refused file (or a cancelled run) stops the read of our records at once
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)
                raise
            await reading
            recorded = await self._reconcile(day, verified, spool, values, work, progress, seen)
        except FileRefused as refused:
            shutil.rmtree(work, ignore_errors=True)
            return await record(self.db, failed(values, refused.reason.value, refused.message, now_utc()), now_utc())
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)  # no run was recorded: nothing may point at its files
            raise
        finally:
            shutil.rmtree(work / "ours", ignore_errors=True)
        if not recorded.new:
            shutil.rmtree(work, ignore_errors=True)
        return recorded

    async def _verify(self, path: Path, day: date, signature: str | None) -> VerifiedFile:
        agencies = await self._agencies()
        return await asyncio.to_thread(
            verify_settlement_file, path, day, signature, self.settings.payhub_hash_key, agencies
        )

    async def _read_ours(self, day: date, spool: RecordSpool) -> None:
        carry = await ours.carry_for(self.db, Kind.SETTLEMENT, day, self.settings, ours.open_days(self.settings))
        await ours.spool_settlement_records(self.db, spool, carry, self.settings.reconciliation_timeout_seconds)

    async def _reconcile(
        self,
        day: date,
        verified: VerifiedFile,
        spool: RecordSpool,
        values: dict[str, object],
        work: Path,
        progress: Progress,
        seen: tuple[int, dict[date, str]],
    ) -> Recorded:
        progress(Phase.MATCH)
        rules = MatchRules(day, cutoff_days=self.settings.reconciliation_cutoff_days)
        lookback = self.settings.reconciliation_lookback_days
        later = await settled_again.later_runs_of(self.db, day, lookback)
        # the plain matches are kept only when a later day's run may have settled their payments too
        written: Written = await asyncio.to_thread(_match, verified, spool, rules, work, bool(later))
        paid = settled_payments(written.outcome)
        found, again = await settled_again.find(self.db, written.found, paid, later, day, lookback)
        written = dataclasses.replace(written, found=found, again=again)
        progress(Phase.WRITE)
        done = {
            **values,
            **figures(written, verified, spool.rows),
            "status": RunStatus.COMPLETED.value,
            "finished_at": now_utc(),
        }
        return await record(self.db, done, now_utc(), writer(written, now_utc()), seen)

    async def _obtain(
        self, day: date, file: Path | None, signature: str | None, root: Path
    ) -> tuple[files.KeptFile, str | None]:
        if file is not None:
            return await asyncio.to_thread(files.keep, file, root, SUFFIX, move=False), signature
        download = await self.hub.settlement_file(day, files.incoming(root, SUFFIX))
        kept = await asyncio.to_thread(files.keep, download.path, root, SUFFIX, move=True)
        return kept, download.signature

    async def _agencies(self) -> set[str]:
        """Our agencies' codes: a row of any other is another partner's data."""
        async with self.db.read() as conn:
            return set((await portals.agency_codes(conn)).values())


def _match(verified: VerifiedFile, spool: RecordSpool, rules: MatchRules, work: Path, keep_matched: bool) -> Written:
    """The engine's part, in a thread: classify every line, then what the run writes (pure, from disk)."""
    outcome = reconcile_settlement(
        scan_settlement(verified), spool.scan(), rules, work, verified.rows, keep_matched=keep_matched
    )
    return summarise(outcome, spool.scan(), rules.day)
