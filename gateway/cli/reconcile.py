"""``gateway reconcile --day YYYY-MM-DD [--kind settlement|cod] [--file PATH [--signature X-MaXacThuc]]``: one day's
run by hand, with a progress bar on standard error and the run's summary (JSON) on standard output. The exit code
is 2 when the file is refused (the run is recorded as failed, with its reason)."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

from gateway.settings import Settings
from gateway.settings import load as load_settings

REFUSED_EXIT = 2


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
        manual = {"trigger": Trigger.MANUAL, "started_by": args.by, "progress": progress}
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
    p.add_argument("--by", default="operator", help="who started the run (recorded with it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_reconcile)
