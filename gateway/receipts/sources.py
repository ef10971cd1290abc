"""What a receipt is issued for: money collected (``gateway.kernel.collected.Collected``, read by the area that
collected it through its ``CollectionSource``) with its agency as the collector, read from the catalogue here.

Issuance, numbering, storage and the API know only ``ReceiptSource``; a source a receipt cannot carry is read as
an ``Unissued`` with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.collected import Collected, CollectionSource
from receipts import Line, Organisation, Payer, ReceiptError

from . import repository
from .repository import Agency
from .unissued import Unissued


@dataclass(frozen=True)
class ReceiptSource:
    """Money collected for a dossier, with everything its receipt states."""

    type: str
    id: str
    portal_id: str
    agency_id: str
    agency_code: str
    dossier_code: str
    collector: Organisation
    payer: Payer
    lines: tuple[Line, ...]
    payment_method: str
    procedure_code: str = ""
    transaction_id: str = ""


Loaded = ReceiptSource | Unissued  # a source with everything its receipt states, or why it cannot have one


def collector_of(agency: Agency) -> Organisation:
    """The collecting organisation a receipt names; raises ``ReceiptError`` for data a receipt cannot carry."""
    return Organisation(
        name=agency.name, tax_code=agency.tax_code, address=agency.address, treasury_account=agency.treasury_account
    )


def receipt_source(collected: Collected, agency_code: str, collector: Organisation) -> ReceiptSource:
    return ReceiptSource(
        type=collected.type,
        id=collected.id,
        portal_id=collected.portal_id,
        agency_id=collected.agency_id,
        agency_code=agency_code,
        dossier_code=collected.dossier_code,
        collector=collector,
        payer=collected.payer,
        lines=collected.lines,
        payment_method=collected.payment_method,
        procedure_code=collected.procedure_code,
        transaction_id=collected.transaction_id,
    )


def _with_collector(collected: Collected, agency: Agency) -> Loaded:
    try:
        return receipt_source(collected, agency.code, collector_of(agency))
    except ReceiptError as error:
        reason = f"invalid data: {error}"
        return Unissued(
            collected.type, collected.id, collected.portal_id, collected.agency_id, collected.dossier_code, reason
        )


class Sources:
    """The receipt sources the bootstrap registered, by type, in the order the sweeper visits them."""

    def __init__(self, sources: Sequence[CollectionSource]) -> None:
        self.by_type: dict[str, CollectionSource] = {source.type: source for source in sources}

    def __getitem__(self, source_type: str) -> CollectionSource:
        return self.by_type[source_type]

    @property
    def types(self) -> list[str]:
        return list(self.by_type)

    async def load(self, conn: AsyncConnection, source_type: str, source_ids: Sequence[str]) -> list[Loaded]:
        """The collected sources among ``source_ids``, in the order asked, each with its collector."""
        found = await self.by_type[source_type].load(conn, source_ids)
        ids = {x.agency_id for x in found if isinstance(x, Collected)}
        agencies = await repository.agencies(conn, ids) if ids else {}
        return [_with_collector(x, agencies[x.agency_id]) if isinstance(x, Collected) else x for x in found]
