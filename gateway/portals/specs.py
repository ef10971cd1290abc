"""An agency as an operator describes it (``gateway agency add --file``): its treasury account and its fee
catalogue, checked with the receipt's own rules before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.kernel import receipt_parts
from gateway.kernel.types import CODE_CHARS
from receipts import Organisation
from receipts.codes import MAX_CODE


@dataclass(frozen=True)
class Fee:
    code: str
    kind: int  # 1 phí, 2 lệ phí
    name: str
    amount: int | None = None  # fixed amount, or None when the portal computes it


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    fees: tuple[Fee, ...]
    service_code: str = ""
    service_name: str = ""
    postal_allowed: bool = True


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    tax_code: str
    address: str
    treasury_account: str
    treasury_bank_code: str
    treasury_account_name: str
    phone: str = ""
    province_code: str | None = None
    commune_code: str | None = None
    procedures: tuple[Procedure, ...] = field(default_factory=tuple)


def check_agency(spec: AgencySpec) -> None:
    """Refuse (``ValueError`` naming the field) an agency its receipts could not carry: the collecting organisation,
    its procedure codes and its fees are checked with the receipt's own rules, as a portal's request is."""
    Organisation(spec.name, spec.tax_code, spec.address, spec.treasury_account)
    for procedure in spec.procedures:
        if not re.fullmatch(CODE_CHARS, procedure.code) or len(procedure.code) > MAX_CODE:
            raise ValueError(f"procedure code {procedure.code!r}: 1 to {MAX_CODE} of A-Z a-z 0-9 . _ / -")
        for fee in procedure.fees:
            if not re.fullmatch(CODE_CHARS, fee.code):
                raise ValueError(f"fee code {fee.code!r} of {procedure.code}: A-Z a-z 0-9 . _ / - only")
            receipt_parts.line(fee.kind, fee.code, fee.name, 1 if fee.amount is None else fee.amount)


def agency_values(spec: AgencySpec) -> dict[str, str | None]:
    """The agency's stored fields but its code."""
    return {
        "name": spec.name,
        "tax_code": spec.tax_code,
        "address": spec.address,
        "treasury_account": spec.treasury_account,
        "treasury_bank_code": spec.treasury_bank_code,
        "treasury_account_name": spec.treasury_account_name,
        "phone": spec.phone,
        "province_code": spec.province_code,
        "commune_code": spec.commune_code,
    }


def procedure_values(procedure: Procedure) -> dict[str, str | bool]:
    """The procedure's stored fields but its code."""
    return {
        "name": procedure.name,
        "service_code": procedure.service_code,
        "service_name": procedure.service_name,
        "postal_allowed": procedure.postal_allowed,
    }
