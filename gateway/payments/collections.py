"""Paid payments as a receipt source (``gateway.kernel.collected.CollectionSource``): what the receipt of a payment
states, read from the payments tables only, and what a refund left of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel import receipt_parts
from gateway.kernel.collected import PAYMENT, Collected, Loaded, Pending, Unreceiptable
from receipts import PAYMENT_ONLINE, ReceiptError

from . import repository
from .state import COLLECTED, Status

COLLECTED_VALUES = [s.value for s in COLLECTED]


def collected_payment(row: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> Collected:
    """What the receipt of a payment row and its line rows (mappings of column name to value) states; raises
    ``ReceiptError`` for data it cannot carry."""
    return Collected(
        type=PAYMENT,
        id=row["id"],
        portal_id=row["portal_id"],
        agency_id=row["agency_id"],
        dossier_code=row["dossier_code"],
        payer=receipt_parts.payer(row["payer_name"], row["payer_id_number"], address=row["payer_address"]),
        lines=tuple(receipt_parts.line(x["kind"], x["code"], x["name"], x["amount"]) for x in lines),
        payment_method=PAYMENT_ONLINE,
        procedure_code=row["procedure_code"],
        transaction_id=row["hub_transaction_id"] or "",
    )


def unreceiptable(source_type: str, row: Mapping[str, Any], error: Exception) -> Unreceiptable:
    """Stored data a receipt cannot carry: held until staff correct it."""
    return Unreceiptable(
        source_type, row["id"], row["portal_id"], row["agency_id"], row["dossier_code"], f"invalid data: {error}"
    )


class PaymentCollections:
    """The payments area's receipt source."""

    type = PAYMENT

    async def load(self, conn: AsyncConnection, source_ids: Sequence[str]) -> list[Loaded]:
        """The collected payments among ``source_ids`` (two queries, however many)."""
        found, lines = await repository.collected(conn, source_ids, COLLECTED_VALUES)
        order = {payment_id: i for i, payment_id in enumerate(source_ids)}
        loaded: list[Loaded] = []
        for row in sorted(found, key=lambda r: order[r["id"]]):
            try:
                loaded.append(collected_payment(row, lines[row["id"]]))
            except ReceiptError as error:
                loaded.append(unreceiptable(PAYMENT, row, error))
        return loaded

    async def unreceipted(
        self, conn: AsyncConnection, limit: int, pending: Pending, collected_by: datetime
    ) -> list[str]:
        return await repository.collected_without_receipt(conn, COLLECTED_VALUES, limit, pending, collected_by)

    async def receipted(self, conn: AsyncConnection, issued: Sequence[tuple[str, str]]) -> None:
        """Nothing to note: a payment's receipts are found by their source."""

    def refunds(self) -> Any:
        """Refunded payments, as a subquery the receipts area joins on: what each kept, refunded in full or not."""
        return repository.refunded(Status.REFUNDED.value, Status.PARTIALLY_REFUNDED.value)

    async def kept(self, conn: AsyncConnection, source_id: str) -> int | None:
        return await repository.kept(conn, source_id, Status.PARTIALLY_REFUNDED.value)
