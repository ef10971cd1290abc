"""The national payment hub (payhub v2): messages, checksum, codes and client.

The sandbox that plays the hub lives in ``adapters.payhub.sandbox``.
"""

from .client import (
    HubRejected,
    HubUnavailable,
    OutcomeUnknown,
    PayhubClient,
    PayhubConfig,
    PayhubError,
    SettlementDownload,
    SettlementNotPublished,
)
from .codes import Outcome, Reply
from .messages import (
    Bill,
    BillLine,
    CallbackRejected,
    FeeItem,
    HubResult,
    InitOrder,
    ProtocolError,
    ReceiptInfo,
    RefundOrder,
    build_confirm_ack,
    parse_confirm,
    peek_reference,
    read_return,
    receipt_info,
)

__all__ = [
    "Bill",
    "BillLine",
    "CallbackRejected",
    "FeeItem",
    "HubRejected",
    "HubResult",
    "HubUnavailable",
    "InitOrder",
    "Outcome",
    "OutcomeUnknown",
    "PayhubClient",
    "PayhubConfig",
    "PayhubError",
    "ProtocolError",
    "ReceiptInfo",
    "RefundOrder",
    "Reply",
    "SettlementDownload",
    "SettlementNotPublished",
    "build_confirm_ack",
    "parse_confirm",
    "peek_reference",
    "read_return",
    "receipt_info",
]
