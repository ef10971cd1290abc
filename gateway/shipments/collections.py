"""Cash the post collected on delivery (COD) as a receipt source (``gateway.kernel.collected.CollectionSource``): the
same receipt as a payment's, paid ``Thu hộ qua bưu chính``.

The post collects one amount for the dossier's fees. When the procedure's catalogue has fixed fees that add up to
that amount, the receipt lists them; otherwise it carries one line for the fees collected by the post, so its total
is always what the citizen paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.vntime import now_utc
from gateway.kernel import receipt_parts
from gateway.kernel.collected import COD, Collected, Loaded, Pending, Unreceiptable
from receipts import PAYMENT_COD, Line, ReceiptError

from . import repository
from .records import CatalogueFee, CollectionToReceipt


def collected_on_delivery(row: CollectionToReceipt, lines: Sequence[Line]) -> Collected:
    """What the receipt of a collection row (with its shipment's citizen) states; raises ``ReceiptError`` for data
    a receipt cannot carry."""
    return Collected(
        type=COD,
        id=row.id,
        portal_id=row.portal_id,
        agency_id=row.agency_id,
        dossier_code=row.dossier_code,
        payer=receipt_parts.cod_payer(
            row.citizen_name, row.citizen_street, row.citizen_commune_name, row.citizen_province_name
        ),
        lines=tuple(lines),
        payment_method=PAYMENT_COD,
        procedure_code=row.procedure_code,
        transaction_id=row.shipment_id,
    )


def cod_lines(fees: Sequence[CatalogueFee], dossier_code: str, amount: int) -> tuple[Line, ...]:
    """The catalogue's fixed fees when they add up to the amount collected, else one line for it all."""
    if fees and all(f.amount is not None for f in fees) and sum(f.amount or 0 for f in fees) == amount:
        return tuple(receipt_parts.line(f.kind, f.code, f.name, f.amount or 0) for f in fees)
    return (receipt_parts.cod_line(dossier_code, amount),)


class CodCollections:
    """The shipments area's receipt source: ``cod_collections``, linked to their receipts once issued."""

    type = COD

    async def load(self, conn: AsyncConnection, source_ids: Sequence[str]) -> list[Loaded]:
        found = await repository.collections_to_receipt(conn, source_ids)
        order = {collection_id: i for i, collection_id in enumerate(source_ids)}
        loaded: list[Loaded] = []
        for row in sorted(found, key=lambda r: order[r.id]):
            try:
                fees = await repository.catalogue_fees(conn, row.agency_id, row.procedure_code)
                loaded.append(collected_on_delivery(row, cod_lines(fees, row.dossier_code, row.amount)))
            except ReceiptError as error:
                reason = f"invalid data: {error}"
                loaded.append(Unreceiptable(COD, row.id, row.portal_id, row.agency_id, row.dossier_code, reason))
        return loaded

    async def unreceipted(
        self, conn: AsyncConnection, limit: int, pending: Pending, collected_by: datetime
    ) -> list[str]:
        return await repository.unreceipted_collections(conn, limit, pending, collected_by)

    async def receipted(self, conn: AsyncConnection, issued: Sequence[tuple[str, str]]) -> None:
        await repository.link_receipts(conn, issued, now_utc())
