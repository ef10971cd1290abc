"""The reconciliation engine's public surface: pure, streaming, no database.

    verified = verify_settlement_file(path, day, signature, key, agencies)   # adapters.payhub.settlement
    spool = RecordSpool(work / "ours"); spool.add_columns(batch) ...         # our payments and refunds
    outcome = reconcile_settlement(scan_settlement(verified), spool.scan(), MatchRules(day), work, verified.rows)
    outcome.classes, outcome.agencies, outcome.breaks()

and for the post's cash on delivery, ``reconcile_cod(statements, collections, rules)``.
"""

from __future__ import annotations

from .business_days import VN_DAYS_OFF, business_days_after, is_business_day
from .cod import CodLine, CodRules, OurCollection, reconcile_cod
from .reasons import BREAKS, LABELS, LineClass, label
from .records import MONEY_MOVED, OurRecord, RecordKind, RecordSpool, RecordStatus, records_frame
from .settlement_match import MatchRules
from .settlement_run import AgencyDay, Break, ClassTotal, SettlementOutcome, as_break, reconcile_settlement

__all__ = [
    "BREAKS",
    "LABELS",
    "MONEY_MOVED",
    "VN_DAYS_OFF",
    "AgencyDay",
    "Break",
    "ClassTotal",
    "CodLine",
    "CodRules",
    "LineClass",
    "MatchRules",
    "OurCollection",
    "OurRecord",
    "RecordKind",
    "RecordSpool",
    "RecordStatus",
    "SettlementOutcome",
    "as_break",
    "business_days_after",
    "is_business_day",
    "label",
    "reconcile_cod",
    "reconcile_settlement",
    "records_frame",
]
