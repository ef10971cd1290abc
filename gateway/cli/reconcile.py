"""``gateway reconcile --day YYYY-MM-DD [--kind settlement|cod] [--file PATH [--signature X-MaXacThuc]] [--by NAME]``:
one day's run by hand, with a progress bar on standard error and the run's summary (JSON) on standard output. The
exit code is 2 when the file is refused (the run is recorded as failed, with its reason).

Before the run starts, the staff audit trail records it (``run.started``, subject ``<kind>:<day>``), as the finance
pages record a run asked for there: the actor is ``cli:`` and the operating system's user who ran the command (as for
``gateway staff``), which no option changes. ``--by`` names on whose word it runs (a staff username, say); it is the
run's ``started_by`` and is in the entry; without it, the actor is."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

from gateway.settings import Settings
from gateway.settings import load as load_settings

from .common import os_actor

REFUSED_EXIT = 2
STARTED = "run.started"


async def _record_start(db: Any, args: argparse.Namespace, actor: str, started_by: str) -> None:
    from adapters.vntime import now_utc
    from gateway.staff import record

    async with db.unit() as uow:
        await record(
            uow.conn,
            at=now_utc(),
            actor=actor,
            action=STARTED,
            subject_type="run",
            subject_id=f"{args.kind}:{args.day.isoformat()}",
            after={
                "kind": args.kind,
                "day": args.day.isoformat(),
                "trigger": "manual",
                "started_by": started_by,
                "file": str(args.file or ""),
            },
            note="gateway reconcile",
        )


async def _run(settings: Settings, args: argparse.Namespace) -> Any:
    from tqdm import tqdm

    from adapters.payhub import PayhubClient
    from adapters.postal import PostalClient
    from gateway import broker
    from gateway.bootstrap import database_limits, payhub_config, postal_config, settlement_runs
    from gateway.jobs import JobQueue
    from gateway.reconciliation import PHASES, CodRuns, Phase, Trigger
    from gateway.reconciliation.pipeline import LABELS
    from gateway.store.db import Database

    db = Database.from_url(settings.database_url, database_limits(settings))
    hub, post, jobs = PayhubClient(payhub_config(settings)), PostalClient(postal_config(settings)), JobQueue()
    jobs.redis = broker.connect(settings)  # a completed settlement run queues its breaks' automatic resolution
    bar = tqdm(total=len(PHASES), unit="bước", leave=True, disable=args.quiet)

    def progress(phase: Phase) -> None:
        bar.set_description(LABELS[phase])
        bar.update(PHASES.index(phase) - bar.n)

    try:
        actor = os_actor()
        started_by = (args.by or actor)[:64]
        await _record_start(db, args, actor, started_by)
        manual: dict[str, Any] = {"trigger": Trigger.MANUAL, "started_by": started_by, "progress": progress}
        if args.kind == "cod":
            recorded = await CodRuns(db, post, settings).run(args.day, file=args.file, **manual)
        else:
            runs = settlement_runs(db, hub, settings, jobs)
            recorded = await runs.run(args.day, file=args.file, signature=args.signature, **manual)
        bar.update(len(PHASES) - bar.n)
        return recorded
    finally:
        bar.close()
        await asyncio.gather(hub.aclose(), post.aclose(), jobs.redis.aclose(), db.dispose())


def _reconcile(args: argparse.Namespace) -> None:
    from adapters.payhub import PayhubError
    from adapters.postal import PostalError
    from gateway.reconciliation.jobs import summary

    try:
        recorded = asyncio.run(_run(load_settings(), args))
    except (PayhubError, PostalError, OSError) as exc:
        raise SystemExit(f"gateway reconcile: {type(exc).__name__}: {exc}") from None
    run = recorded.run
    print(
        json.dumps(
            {
                **summary(recorded),
                "hub_amount": run.hub_amount,
                "our_amount": run.our_amount,
                "refusal_message": run.refusal_message,
            },
            ensure_ascii=False,
        )
    )
    if run.status == "failed":
        raise SystemExit(REFUSED_EXIT)


def register(sub: Any) -> None:
    p = sub.add_parser("reconcile", help="reconcile one day's settlement file or COD statement by hand")
    p.add_argument("--day", required=True, type=date.fromisoformat, help="the Vietnam day, YYYY-MM-DD")
    p.add_argument("--kind", choices=("settlement", "cod"), default="settlement")
    p.add_argument("--file", type=Path, help="a file on disk instead of the partner's (settlement CSV or COD JSON)")
    p.add_argument("--signature", help="the hub's X-MaXacThuc of --file (a settlement file without it is refused)")
    p.add_argument(
        "--by",
        help="on whose word the run is made, recorded as its starter (default: cli:<OS user>, who is in the audit "
        "trail either way)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_reconcile)
