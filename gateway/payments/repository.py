"""All of the payments area's SQL: payments with their fee lines and refunds, the ledger, and the hub's results."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import portals
from gateway.store import dialect, pages
from gateway.store.direct import Direct
from gateway.store.tables import payments as pt
from gateway.store.types import as_stored
from gateway.store.uow import UnitOfWork

from .records import PAYMENT_COLUMNS, FeeLine, Payment, Refund, payment_of, refund_of
from .state import Status, may_have_refunds

P = pt.payments.c
L = pt.payment_lines.c
R = pt.refunds.c


# ---------------------------------------------------------------- payments
def _with_lines(query: Select[Any]) -> Select[Any]:
    """``query`` of payments with their fee lines in order, one row per line: a payment and its lines in one
    round trip."""
    lines = [column.label(f"line_{column.name}") for column in (L.kind, L.code, L.name, L.amount)]
    return query.add_columns(*lines).outerjoin(pt.payment_lines, L.payment_id == P.id).order_by(L.position)


# The statements of the hot paths (callbacks, creations) are built once with bound parameters, and run straight on
# asyncpg on PostgreSQL (``Direct``).
_BY_ID_QUERY = _with_lines(select(pt.payments).where(P.id == bindparam("payment_id")))
_BY_ID = Direct(_BY_ID_QUERY)
_BY_ID_OF_PORTAL = Direct(_BY_ID_QUERY.where(P.portal_id == bindparam("portal_id")))
_BY_REFERENCE_QUERY = _with_lines(select(pt.payments).where(P.reference == bindparam("reference")))
_BY_REFERENCE = Direct(_BY_REFERENCE_QUERY)
_LOCK_BY_ID = dialect.Locking(_BY_ID_QUERY, of=pt.payments)
_LOCK_BY_REFERENCE = dialect.Locking(_BY_REFERENCE_QUERY, of=pt.payments)
_CHANGE = Direct(update(pt.payments).where(P.id == bindparam("b_id"), P.status == bindparam("b_expected")))
_CHANGE_AS_READ = Direct(
    update(pt.payments).where(
        P.id == bindparam("b_id"), P.status == bindparam("b_expected"), P.updated_at == bindparam("b_updated")
    )
)
_INSERT_PAYMENT = Direct(pt.payments.insert())
# What a new payment holds that its request and its creation do not say: every column is written, so the record
# built from what was written is the row as stored.
_NEW_PAYMENT = {
    "status_reason": "",
    "checkout_url": None,
    "hub_transaction_id": None,
    "paid_amount": 0,
    "refunded_amount": 0,
    "paid_at": None,
    "checked_at": None,
}
_INSERT_LINES = Direct(pt.payment_lines.insert())
_INSERT_LEDGER = Direct(pt.ledger_entries.insert())
_INSERT_HUB_RESULT = Direct(pt.hub_results.insert())


async def load(conn: AsyncConnection, payment_id: str, portal_id: str | None = None) -> Payment | None:
    if portal_id is None:
        return await _one(conn, _BY_ID, {"payment_id": payment_id})
    return await _one(conn, _BY_ID_OF_PORTAL, {"payment_id": payment_id, "portal_id": portal_id})


async def load_by_reference(conn: AsyncConnection, reference: str) -> Payment | None:
    return await _one(conn, _BY_REFERENCE, {"reference": reference})


async def for_change(uow: UnitOfWork, reference: str) -> Payment | None:
    """The payment of ``reference``, read to be changed in ``uow``: in a checked unit as committed, without a lock
    (its kept change applies only to the payment as read); in any other unit under its row lock."""
    if uow.checked:
        return await load_by_reference(uow.conn, reference)
    return await lock(uow.conn, reference=reference)


async def lock(conn: AsyncConnection, *, payment_id: str | None = None, reference: str | None = None) -> Payment | None:
    """Load a payment for change: PostgreSQL takes the row lock (the payment's row only, not its lines); SQLite
    already holds the write lock."""
    if payment_id is not None:
        return await _one(conn, _LOCK_BY_ID.on(conn), {"payment_id": payment_id})
    return await _one(conn, _LOCK_BY_REFERENCE.on(conn), {"reference": reference})


async def _one(conn: AsyncConnection, query: Direct, values: dict[str, Any]) -> Payment | None:
    rows = await query.rows(conn, values)
    if not rows:
        return None
    row = rows[0]
    joined = (x for x in rows if x["line_code"] is not None)  # a payment without lines has one row, with NULLs
    lines = tuple(FeeLine(x["line_kind"], x["line_code"], x["line_name"], x["line_amount"]) for x in joined)
    return payment_of(row, await portals.agency_code(conn, row["agency_id"]), lines, await _refunds(conn, row))


async def _complete(conn: AsyncConnection, row: Any) -> Payment:
    lines = await conn.execute(
        select(L.kind, L.code, L.name, L.amount).where(L.payment_id == row.id).order_by(L.position)
    )
    columns = row._mapping
    return payment_of(
        columns,
        await portals.agency_code(conn, row.agency_id),
        tuple(FeeLine(*line) for line in lines),
        await _refunds(conn, columns),
    )


async def _refunds(conn: AsyncConnection, row: Any) -> tuple[Refund, ...]:
    """The refunds of the payment of ``row`` (a mapping of its columns)."""
    if not may_have_refunds(Status(row["status"])):
        return ()
    refunds = await conn.execute(select(pt.refunds).where(R.payment_id == row["id"]).order_by(R.created_at, R.id))
    return tuple(refund_of(x) for x in refunds)


async def belongs(conn: AsyncConnection, payment_id: str, portal_id: str) -> bool:
    """Whether the payment exists and is the portal's."""
    found = await conn.execute(select(P.id).where(P.id == payment_id, P.portal_id == portal_id))
    return found.first() is not None


async def page(
    conn: AsyncConnection,
    portal_id: str,
    *,
    dossier_code: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Payment], str | None]:
    query = select(pt.payments).where(P.portal_id == portal_id)
    if dossier_code:
        query = query.where(P.dossier_code == dossier_code)
    if status:
        query = query.where(P.status == status)
    rows, next_cursor = await pages.newest_first(conn, query, P.id, cursor or None, limit)
    return [await _complete(conn, row) for row in rows], next_cursor


def insert(uow: UnitOfWork, payment: dict[str, Any], lines: list[dict[str, Any]], agency_code: str) -> Payment:
    """Store a new payment with its fee lines (given in their order) when ``uow`` commits, with its other kept
    writes; the payment as it will be stored (every column written, its times in UTC), without reading it back."""
    row = as_stored({**_NEW_PAYMENT, **payment})
    if row.keys() != PAYMENT_COLUMNS:
        raise ValueError(f"a new payment writes every column: {sorted(row.keys() ^ PAYMENT_COLUMNS)}")
    uow.later(_INSERT_PAYMENT, [row])
    uow.later(_INSERT_LINES, lines)
    fee_lines = tuple(FeeLine(x["kind"], x["code"], x["name"], x["amount"]) for x in lines)
    return payment_of(row, agency_code, fee_lines, ())


def change(uow: UnitOfWork, record: Payment, values: dict[str, Any]) -> None:
    """Update the payment when the unit commits, with its later writes, if its status is still ``record``'s (and so
    it is, under the row lock the caller holds). In a checked unit, which holds no lock, if it is still as ``record``
    read it: its status and the time of its last move (every move sets ``updated_at``; nothing else changes a
    payment but when it was last asked about). Were the payment moved, the commit fails (``LostChange``) and
    nothing of the unit is written."""
    values = {**values, "b_id": record.id, "b_expected": record.status}
    if uow.checked:
        uow.change_later(_CHANGE_AS_READ, {**values, "b_updated": record.updated_at})
    else:
        uow.change_later(_CHANGE, values)


async def mark_checked(conn: AsyncConnection, payment_id: str, now: datetime) -> None:
    await conn.execute(update(pt.payments).where(P.id == payment_id).values(checked_at=now))


async def due_for_check(
    conn: AsyncConnection, unpaid: list[str], now: datetime, stale: datetime, limit: int
) -> list[Any]:
    """Unpaid payments past their expiry, or pending for long and not asked about lately: least recently asked first."""
    return list(
        await conn.execute(
            select(P.id, P.reference, P.expires_at)
            .where(
                P.status.in_(unpaid),
                or_(
                    P.expires_at <= now, and_(P.created_at <= stale, or_(P.checked_at.is_(None), P.checked_at <= stale))
                ),
            )
            .order_by(P.checked_at.is_not(None), P.checked_at, P.created_at)
            .limit(limit)
        )
    )


def post_ledger(uow: UnitOfWork, entries: list[dict[str, Any]]) -> None:
    """Post ``entries`` when the unit commits (a unique key per group and account: posting twice fails it)."""
    uow.later(_INSERT_LEDGER, entries)


def record_hub_result(uow: UnitOfWork, values: dict[str, Any]) -> None:
    """Keep the hub's word as received, when the unit commits."""
    uow.later(_INSERT_HUB_RESULT, [values])


# ---------------------------------------------------------------- refunds
async def insert_refund(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(pt.refunds.insert().values(**values))


async def refund(conn: AsyncConnection, refund_id: str) -> Refund:
    return refund_of((await conn.execute(select(pt.refunds).where(R.id == refund_id))).one())


async def refund_to_send(conn: AsyncConnection, refund_id: str) -> tuple[Refund, str, str]:
    """The refund, its payment's hub reference and the hub's transaction id of the payment."""
    row = (
        await conn.execute(
            select(pt.refunds, P.reference.label("payment_reference"), P.hub_transaction_id)
            .join(pt.payments, P.id == R.payment_id)
            .where(R.id == refund_id)
        )
    ).one()
    return refund_of(row), row.payment_reference, row.hub_transaction_id or ""


async def change_refund(conn: AsyncConnection, refund_id: str, expected_status: str, values: dict[str, Any]) -> bool:
    result = await conn.execute(
        update(pt.refunds).where(R.id == refund_id, R.status == expected_status).values(**values)
    )
    return result.rowcount == 1


async def refunds_in_flight(conn: AsyncConnection, payment_id: str, statuses: list[str]) -> int:
    """The sum of the payment's refunds not yet settled."""
    total = await conn.execute(
        select(func.coalesce(func.sum(R.amount), 0)).where(R.payment_id == payment_id, R.status.in_(statuses))
    )
    return int(total.scalar_one())


async def refunds_waiting(conn: AsyncConnection, statuses: list[str], older_than: datetime, limit: int) -> list[str]:
    rows = await conn.execute(
        select(R.id).where(R.status.in_(statuses), R.updated_at < older_than).order_by(R.updated_at).limit(limit)
    )
    return list(rows.scalars())


# ---------------------------------------------------------------- the receipts' source (collections.py)
_COLLECTED = dialect.OneOf(lambda one_of: select(pt.payments).where(one_of(P.id)))
_COLLECTED_LINES = dialect.OneOf(
    lambda one_of: select(pt.payment_lines).where(one_of(L.payment_id)).order_by(L.payment_id, L.position)
)


async def collected(
    conn: AsyncConnection, source_ids: Sequence[str], statuses: list[str]
) -> tuple[list[Mapping[str, Any]], dict[str, list[Mapping[str, Any]]]]:
    """The payments among ``source_ids`` in ``statuses``, and their fee lines by payment (two queries), as
    mappings of column name to value."""
    rows = await _COLLECTED.on(conn).rows(conn, {"ids": list(source_ids)})
    found = [row for row in rows if row["status"] in statuses]
    lines: dict[str, list[Mapping[str, Any]]] = {row["id"]: [] for row in found}
    if found:
        for x in await _COLLECTED_LINES.on(conn).rows(conn, {"ids": list(lines)}):
            lines[x["payment_id"]].append(x)
    return found, lines


async def collected_without_receipt(
    conn: AsyncConnection, statuses: list[str], limit: int, pending: Callable[[Any], Any], paid_by: datetime
) -> list[str]:
    """Paid at or before ``paid_by``, oldest first; ``pending`` is the receipts area's condition on the id ("no
    receipt, not held")."""
    query = (
        select(P.id)
        .where(P.status.in_(statuses), P.paid_at <= paid_by, pending(P.id))
        .order_by(P.paid_at, P.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).scalars())


def refunded(in_full: str, in_part: str) -> Any:
    return (
        select(
            P.id.label("id"),
            (P.paid_amount - P.refunded_amount).label("kept"),
            (P.status == in_full).label("in_full"),
        )
        .where(P.status.in_([in_full, in_part]))
        .subquery("refunds")
    )


async def kept(conn: AsyncConnection, source_id: str, in_part: str) -> int | None:
    query = select(P.paid_amount - P.refunded_amount).where(P.id == source_id, P.status == in_part)
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else int(found)


async def of_dossier(conn: AsyncConnection, portal_id: str, dossier_code: str) -> list[Payment]:
    """The dossier's payments, oldest first."""
    query = (
        select(pt.payments).where(P.portal_id == portal_id, P.dossier_code == dossier_code).order_by(P.created_at, P.id)
    )
    return [await _complete(conn, row) for row in await conn.execute(query)]
