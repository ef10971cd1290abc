"""Receipts in the gateway: series and numbers, issuance for collected money, cancel and replace, the portal API
and the public lookup. The receipt document itself (XML, XSD, signature, renderings) is the ``receipts`` library.

Money reaches this area only through the sources the bootstrap registers (``gateway.kernel.collected``): the
issuer (``ReceiptIssuer``) and the refund follow-up (``RefundFollowUp``) read them, never another area's tables.
``repository`` holds all the area's SQL, ``presenter`` the API's representation, ``service`` the portal's use
cases, ``public`` the lookup pages' (``lookup``)."""

from .issuance import CannotIssue, ReceiptIssuer
from .keys import AgencyKeys, ensure_demo_key
from .refunded import RefundFollowUp
from .service import ReceiptService
from .trust import import_certificates, record_loaded
from .unissued import counts as unissued_counts
from .unissued import listing as unissued_listing
from .unissued import retry_now as retry_unissued

__all__ = [
    "AgencyKeys",
    "CannotIssue",
    "ReceiptIssuer",
    "ReceiptService",
    "RefundFollowUp",
    "ensure_demo_key",
    "import_certificates",
    "record_loaded",
    "retry_unissued",
    "unissued_counts",
    "unissued_listing",
]
