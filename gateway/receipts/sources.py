"""What a receipt is issued for: a source of collected money, read into one shape whatever its kind.

A paid payment is one kind (``payment``); cash collected on delivery by the post is another (``cod``). Each kind
registers a ``SourceKind``: how to read one source by id, and how to find collected ones that have no receipt yet
(skipping those held back by ``unissued``). Issuance, numbering, storage and the API know only ``ReceiptSource``; a
stored source a receipt cannot carry is read as an ``Unissued`` with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel import receipt_parts
from gateway.kernel.collected import PAYMENT
from gateway.payments.state import COLLECTED
from gateway.store.tables import payments as pt
from gateway.store.tables import portals as ct
from gateway.store.tables.receipts import receipts
from receipts import PAYMENT_ONLINE, Line, Organisation, Payer, ReceiptError

from .unissued import Unissued, not_held


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
Loader = Callable[[AsyncConnection, list[str]], Awaitable[list[Loaded]]]
Finder = Callable[[AsyncConnection, int, datetime], Awaitable[list[str]]]
Linker = Callable[[AsyncConnection, Sequence[tuple[str, str]]], Awaitable[None]]


@dataclass(frozen=True)
class SourceKind:
    load: Loader  # the sources with these ids that exist and were collected, in the order asked
    unreceipted: Finder  # ids of collected sources without an original receipt and not held back, oldest first
    on_issued: Linker | None = None  # told (source id, receipt id) in the transaction that stores the receipts


KINDS: dict[str, SourceKind] = {}


def register(name: str, kind: SourceKind) -> None:
    KINDS[name] = kind


def without_receipt(source_type: str, id_column: object) -> object:
    """A NOT EXISTS clause: the source has no original receipt yet."""
    r = receipts.c
    return ~(select(r.id).where(and_(r.source_type == source_type, r.source_id == id_column, r.revision == 0)).exists())


AGENCY_COLUMNS = (
    ct.agencies.c.code.label("agency_code"),
    ct.agencies.c.name.label("agency_name"),
    ct.agencies.c.tax_code.label("agency_tax_code"),
    ct.agencies.c.address.label("agency_address"),
    ct.agencies.c.treasury_account.label("agency_treasury_account"),
)


def collector_of(row: Any) -> Organisation:
    """The collecting organisation from a row selected with ``AGENCY_COLUMNS``."""
    return Organisation(
        name=row.agency_name,
        tax_code=row.agency_tax_code,
        address=row.agency_address,
        treasury_account=row.agency_treasury_account,
    )


# ---------------------------------------------------------------- payments

P = pt.payments.c


def payment_source(row: Any, lines: Sequence[Any]) -> ReceiptSource:
    """The receipt source of a payment row (selected with ``AGENCY_COLUMNS``) and its line rows."""
    return ReceiptSource(
        type=PAYMENT,
        id=row.id,
        portal_id=row.portal_id,
        agency_id=row.agency_id,
        agency_code=row.agency_code,
        dossier_code=row.dossier_code,
        collector=collector_of(row),
        payer=receipt_parts.payer(row.payer_name, row.payer_id_number, address=row.payer_address),
        lines=tuple(receipt_parts.line(x.kind, x.code, x.name, x.amount) for x in lines),
        payment_method=PAYMENT_ONLINE,
        procedure_code=row.procedure_code,
        transaction_id=row.hub_transaction_id or "",
    )


def unissued(source_type: str, row: Any, error: Exception) -> Unissued:
    """Stored data a receipt cannot carry: held until staff correct it."""
    return Unissued(source_type, row.id, row.portal_id, row.agency_id, row.dossier_code, f"invalid data: {error}")


async def load_payments(conn: AsyncConnection, payment_ids: list[str]) -> list[Loaded]:
    """The collected payments among ``payment_ids`` (two queries, however many)."""
    found = (
        await conn.execute(
            select(*pt.payments.c, *AGENCY_COLUMNS)
            .join(ct.agencies, ct.agencies.c.id == P.agency_id)
            .where(P.id.in_(payment_ids), P.status.in_([s.value for s in COLLECTED]))
        )
    ).all()
    lines: dict[str, list[Any]] = {row.id: [] for row in found}
    if found:
        line = pt.payment_lines.c
        for x in await conn.execute(
            select(pt.payment_lines).where(line.payment_id.in_(list(lines))).order_by(line.payment_id, line.position)
        ):
            lines[x.payment_id].append(x)
    order = {payment_id: i for i, payment_id in enumerate(payment_ids)}
    loaded: list[Loaded] = []
    for row in sorted(found, key=lambda r: order[r.id]):
        try:
            loaded.append(payment_source(row, lines[row.id]))
        except ReceiptError as error:
            loaded.append(unissued(PAYMENT, row, error))
    return loaded


async def unreceipted_payments(conn: AsyncConnection, limit: int, now: datetime) -> list[str]:
    query = (
        select(P.id)
        .where(
            P.status.in_([s.value for s in COLLECTED]),
            without_receipt(PAYMENT, P.id),
            not_held(PAYMENT, P.id, now),
        )
        .order_by(P.paid_at, P.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).scalars())


register(PAYMENT, SourceKind(load=load_payments, unreceipted=unreceipted_payments))
