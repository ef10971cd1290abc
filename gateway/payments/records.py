"""A payment as the area works with it: its columns, its agency's code, its fee lines and its refunds. Records are
immutable; ``updated`` gives the record as it is after an update, without reading back what was just written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FeeLine:
    kind: int
    code: str
    name: str
    amount: int


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    reference: str
    amount: int
    reason: str
    status: str
    hub_code: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    portal_id: str
    agency_id: str
    agency_code: str
    reference: str
    dossier_code: str
    procedure_code: str
    procedure_name: str
    service_code: str
    service_name: str
    amount: int
    currency: str
    description: str
    status: str
    status_reason: str
    payer_name: str
    payer_id_number: str
    payer_address: str
    payer_province: str
    payer_email: str
    payer_phone: str
    client_ip: str
    return_url: str
    checkout_url: str | None
    bank_code: str
    hub_transaction_id: str | None
    paid_amount: int
    refunded_amount: int
    expires_at: datetime
    paid_at: datetime | None
    checked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: tuple[FeeLine, ...] = field(default=())
    refunds: tuple[Refund, ...] = field(default=())

    def updated(self, **values: Any) -> Payment:
        return replace(self, **values)


PAYMENT_COLUMNS = frozenset(f.name for f in fields(Payment)) - {"agency_code", "lines", "refunds"}
REFUND_COLUMNS = frozenset(f.name for f in fields(Refund))


def refund_of(row: Any) -> Refund:
    mapping = row._mapping
    return Refund(**{name: mapping[name] for name in REFUND_COLUMNS})


def payment_of(
    mapping: Mapping[str, Any], agency_code: str, lines: tuple[FeeLine, ...], refunds: tuple[Refund, ...]
) -> Payment:
    """The payment of ``mapping``, its columns by name."""
    return Payment(
        **{name: mapping[name] for name in PAYMENT_COLUMNS}, agency_code=agency_code, lines=lines, refunds=refunds
    )
