"""Fee payments through the national payment hub: creation and the hub's init, the hub's callbacks and query
answers (one code path: ``HubResults``), the janitor, refunds, and the portal API's ``/v1/payments``; for
reconciliation, a window's payments and refunds as column batches (``records_between``), and the collected payments
of some references (``collected_by_reference``).

Public surface: the services the bootstrap wires, and what other areas may read of a payment."""

from .collections import PaymentCollections
from .dossier import for_dossier
from .reconciling import RECORD_COLUMNS, CollectedPayment, collected_by_reference, records_between
from .refunds import RefundService
from .repository import belongs
from .repository import load_by_reference as payment_by_reference
from .results import Disposition, HubResults
from .schemas import PaymentOut
from .service import PaymentService

__all__ = [
    "RECORD_COLUMNS",
    "CollectedPayment",
    "Disposition",
    "HubResults",
    "PaymentCollections",
    "PaymentOut",
    "PaymentService",
    "RefundService",
    "belongs",
    "collected_by_reference",
    "for_dossier",
    "payment_by_reference",
    "records_between",
]
