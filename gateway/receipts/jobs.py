"""Receipt jobs: issue the receipt of a collected source (queued when a payment becomes paid), and a sweeper that
issues any collected source still without one and follows refunds (cancel after a full one, replace after a partial
one).

Both run ``ReceiptIssuer``, whose unique original per source makes a job that runs twice, or a worker killed
half-way, end with exactly one receipt. The signing keys are loaded and checked once, when the worker starts.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import func

from gateway.jobs import (
    ISSUE_RECEIPT,
    ISSUE_TIMEOUT_SECONDS,
    MAX_TRIES,
    SWEEP_TIMEOUT_SECONDS,
    every,
    retried,
    scheduled,
)
from gateway.settings import Settings

from .issuance import CannotIssue, ReceiptIssuer
from .refunded import RefundFollowUp


@retried
async def issue_receipt(ctx: dict[str, Any], source_type: str, source_id: str) -> str | None:
    """The source's receipt id (issued now, or found from an earlier run); None when nothing was collected."""
    issuer: ReceiptIssuer = ctx["container"].receipt_issuer
    try:
        return await issuer.issue(source_type, source_id)
    except CannotIssue as error:  # no key or bad data: the sweeper retries after the operator fixes it
        return f"not issued: {error}"


@scheduled
async def sweep_receipts(ctx: dict[str, Any]) -> dict[str, int]:
    """Issue what the jobs missed (holding what cannot be issued yet), then follow refunds: a receipt refunded in
    full is cancelled, one refunded in part replaced by a receipt for the amount kept."""
    issuer: ReceiptIssuer = ctx["container"].receipt_issuer
    refunds: RefundFollowUp = ctx["container"].receipt_refunds
    batch = ctx["container"].settings.receipt_batch
    issued = await issuer.issue_pending()
    cancelled = await refunds.cancel_refunded(batch)
    replaced = await refunds.replace_partly_refunded(batch)
    return {"issued": issued, "cancelled": cancelled, "replaced": replaced}


FUNCTIONS = [
    func(issue_receipt, name=ISSUE_RECEIPT, timeout=ISSUE_TIMEOUT_SECONDS, max_tries=MAX_TRIES),
    sweep_receipts,
]


def cron_jobs(settings: Settings) -> list[CronJob]:
    return [
        cron(
            sweep_receipts,
            run_at_startup=True,
            timeout=SWEEP_TIMEOUT_SECONDS,
            **every(settings.receipt_sweep_interval_seconds),
        )
    ]
