"""Reading the agencies a portal acts for and their fee catalogues, with the problems a portal gets when a code is
not there: one place for the rule, used by payments and shipments alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext

from . import repository


async def agency_of(conn: AsyncConnection, portal: PortalContext, code: str) -> Any:
    """The agency with this code, if the portal acts for it; another portal's agency is as unknown as none."""
    agency = await repository.agency_by_code(conn, code)
    if agency is None or agency.id not in portal.agency_ids:
        raise Refused("unknown_agency", f"no agency {code!r} for this portal", field="agency_code")
    return agency


async def procedure_of(conn: AsyncConnection, agency_id: str, code: str) -> Any:
    procedure = await repository.procedure_by_code(conn, agency_id, code)
    if procedure is None:
        raise _unknown_procedure(code)
    return procedure


async def procedure_and_fees(conn: AsyncConnection, agency_id: str, code: str) -> tuple[Any, dict[str, Any]]:
    """``procedure_of`` and its ``fees_of``, read in one round trip."""
    found = await repository.procedure_with_fees(conn, agency_id, code)
    if found is None:
        raise _unknown_procedure(code)
    return found


def _unknown_procedure(code: str) -> Refused:
    return Refused("unknown_procedure", f"procedure {code!r} is not in the catalogue", field="procedure_code")


async def check_postal(conn: AsyncConnection, agency: Any, code: str | None) -> None:
    """A shipment's procedure may go by post. Leaving it out does not skip the rule: when any procedure of the agency
    may not go by post, the shipment must name its procedure (``procedure_required``)."""
    if code is not None:
        procedure = await procedure_of(conn, agency.id, code)
        if not procedure.postal_allowed:
            raise Refused(
                "procedure_not_postal",
                f"procedure {code} ({procedure.name}) may not go by post",
                field="procedure_code",
            )
        return
    if await repository.has_non_postal_procedure(conn, agency.id):
        raise Refused(
            "procedure_required",
            f"agency {agency.code} has procedures that may not go by post: name the dossier's procedure",
            field="procedure_code",
        )


class FeeLine(Protocol):
    """A fee line as a request states it: its kind (1 phí, 2 lệ phí), catalogue code and amount."""

    @property
    def kind(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def amount(self) -> int: ...


async def fees_of(conn: AsyncConnection, procedure_id: str) -> dict[str, Any]:
    """The procedure's fee catalogue, by fee code."""
    return await repository.fees_of(conn, procedure_id)


def check_fee_lines(lines: Sequence[FeeLine], fees: dict[str, Any], field: str) -> None:
    """Every line is a fee of the catalogue, of its kind, at its fixed amount if it has one, and at most once."""
    for i, line in enumerate(lines):
        fee = fees.get(line.code)
        if fee is None or fee.kind != line.kind:
            kind = "phí" if line.kind == 1 else "lệ phí"
            raise Refused(
                "unknown_fee",
                f"fee {line.code!r} ({kind}) is not in the procedure's catalogue",
                field=f"{field}[{i}].code",
            )
        if fee.amount is not None and fee.amount != line.amount:
            raise Refused(
                "fee_amount_mismatch", f"fee {line.code!r} costs {fee.amount} đồng", field=f"{field}[{i}].amount"
            )
    if len({line.code for line in lines}) != len(lines):
        raise Refused("unknown_fee", "a fee code appears twice", field=field)


_AGENCY_CODES: dict[str, str] = {}


async def agency_by_id(conn: AsyncConnection, agency_id: str) -> Any:
    """An agency's row (its name, tax code and treasury account, as a payment's init states them)."""
    return await repository.agency_by_id(conn, agency_id)


async def agency_codes(conn: AsyncConnection) -> dict[str, str]:
    """Every agency's code by its id (a reconciliation maps a whole day's records at once)."""
    codes = await repository.agency_codes(conn)
    _AGENCY_CODES.update(codes)
    return codes


async def agency_code(conn: AsyncConnection, agency_id: str) -> str:
    """An agency's code. An agency keeps its id and code for life, so each process remembers them."""
    code = _AGENCY_CODES.get(agency_id)
    if code is None:
        code = _AGENCY_CODES[agency_id] = await repository.agency_code(conn, agency_id)
    return code
