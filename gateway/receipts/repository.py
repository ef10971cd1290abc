"""All of the receipts area's SQL: receipts, their series, the sources held back, the agencies' certificates, and
the catalogue's agencies a receipt names as its collector. Sources of money are read through their own areas
(``gateway.kernel.collected``); their queries take this area's conditions as clauses (``pending``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.kernel.collected import Pending
from gateway.store import dialect, pages
from gateway.store.direct import Direct
from gateway.store.tables import portals as ct
from gateway.store.tables.receipts import agency_certificates, receipt_series, receipts, unissued_receipts
from gateway.store.uow import UnitOfWork

R = receipts.c
U = unissued_receipts.c
C = agency_certificates.c
A = ct.agencies.c
ISSUED = "issued"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class StoredReceipt:
    """A receipt as stored: its signed XML and the content it was built from (``data``)."""

    id: str
    portal_id: str
    agency_id: str
    source_type: str
    source_id: str
    revision: int
    dossier_code: str
    tax_code: str
    template: str
    series: str
    number: int
    issued_at: datetime
    lookup_code: str
    status: str
    total: int
    replaces_id: str | None
    replaced_by_id: str | None
    cancel_reason: str
    cancelled_at: datetime | None
    data: dict[str, Any]
    xml: bytes


def _stored(row: Row[Any] | None) -> StoredReceipt | None:
    return None if row is None else StoredReceipt(**row._mapping)


@dataclass(frozen=True)
class Agency:
    """A collecting agency as its receipts name it."""

    id: str
    code: str
    name: str
    tax_code: str
    address: str
    treasury_account: str


# ---------------------------------------------------------------- receipts


async def load(conn: AsyncConnection, receipt_id: str, portal_id: str | None = None) -> StoredReceipt | None:
    query = select(receipts).where(R.id == receipt_id)
    if portal_id is not None:
        query = query.where(R.portal_id == portal_id)
    return _stored((await conn.execute(query)).first())


async def lock(tx: AsyncConnection, receipt_id: str, portal_id: str) -> StoredReceipt | None:
    """Load a receipt for change: PostgreSQL takes the row lock; SQLite already holds the write lock."""
    query = select(receipts).where(R.id == receipt_id, R.portal_id == portal_id)
    return _stored((await tx.execute(dialect.locked(tx, query))).first())


async def by_lookup_code(conn: AsyncConnection, lookup_code: str) -> StoredReceipt | None:
    return _stored((await conn.execute(select(receipts).where(R.lookup_code == lookup_code))).first())


async def original_of(conn: AsyncConnection, source_type: str, source_id: str) -> StoredReceipt | None:
    query = select(receipts).where(R.source_type == source_type, R.source_id == source_id, R.revision == 0)
    return _stored((await conn.execute(query)).first())


_ORIGINALS = dialect.OneOf(
    lambda one_of: select(R.source_id, R.id).where(
        R.source_type == bindparam("source_type"), one_of(R.source_id), R.revision == 0
    )
)


async def originals_of(conn: AsyncConnection, source_type: str, source_ids: Sequence[str]) -> dict[str, str]:
    """The ids of the original receipts the sources among ``source_ids`` have, by source id (one query)."""
    rows = await _ORIGINALS.on(conn).rows(conn, {"source_type": source_type, "ids": list(source_ids)})
    return {row["source_id"]: row["id"] for row in rows}


async def of_source(conn: AsyncConnection, source_type: str, source_id: str, portal_id: str) -> list[StoredReceipt]:
    query = (
        select(receipts)
        .where(R.source_type == source_type, R.source_id == source_id, R.portal_id == portal_id)
        .order_by(R.revision)
    )
    return [StoredReceipt(**row._mapping) for row in await conn.execute(query)]


async def list_page(
    conn: AsyncConnection, portal_id: str, *, dossier_code: str | None, cursor: str | None, limit: int
) -> tuple[list[StoredReceipt], str | None]:
    """Newest first; the cursor is the id of the last receipt of the previous page (ids sort by creation)."""
    query = select(receipts).where(R.portal_id == portal_id)
    if dossier_code:
        query = query.where(R.dossier_code == dossier_code)
    rows, next_cursor = await pages.newest_first(conn, query, R.id, cursor or None, limit)
    return [StoredReceipt(**row._mapping) for row in rows], next_cursor


_INSERT = Direct(receipts.insert())


def insert(uow: UnitOfWork, rows: Sequence[StoredReceipt]) -> None:
    """Insert the receipts when ``uow`` commits, in one statement with its other kept writes (nothing in the unit
    reads them back before; a receipt already issued for its source fails the commit)."""
    uow.later(_INSERT, [vars(row) for row in rows])


async def mark_cancelled(
    tx: AsyncConnection, receipt_id: str, reason: str, now: datetime, replaced_by: str | None
) -> bool:
    """Cancel an issued receipt; ``False`` if it is no longer issued."""
    moved = await tx.execute(
        update(receipts)
        .where(R.id == receipt_id, R.status == ISSUED)
        .values(status=CANCELLED, cancel_reason=reason, cancelled_at=now, replaced_by_id=replaced_by)
    )
    return bool(moved.rowcount == 1)


async def allocate_numbers(tx: AsyncConnection, tax_code: str, template: str, series: str, count: int) -> int:
    """Take ``count`` more numbers of the series (made if new); returns the series' last number now taken."""
    row = receipt_series.c
    statement = (
        dialect.insert(tx, receipt_series)
        .values(tax_code=tax_code, template=template, series=series, last_number=count)
        .on_conflict_do_update(
            index_elements=[row.tax_code, row.template, row.series],
            set_={"last_number": row.last_number + count},
        )
        .returning(row.last_number)
    )
    return int((await tx.execute(statement)).scalar_one())


def _series_is(tax_code: str, template: str, series: str) -> Any:
    row = receipt_series.c
    return and_(row.tax_code == tax_code, row.template == template, row.series == series)


async def last_number(conn: AsyncConnection, tax_code: str, template: str, series: str) -> int:
    """The series' last number taken so far (0 for a series not started), read without a lock."""
    query = select(receipt_series.c.last_number).where(_series_is(tax_code, template, series))
    return int((await conn.execute(query)).scalar_one_or_none() or 0)


_NEW_SERIES = dialect.Inserting(lambda insert: insert(receipt_series).on_conflict_do_nothing())
_TAKE_AFTER = Direct(
    update(receipt_series)
    .where(
        receipt_series.c.tax_code == bindparam("b_tax_code"),
        receipt_series.c.template == bindparam("b_template"),
        receipt_series.c.series == bindparam("b_series"),
        receipt_series.c.last_number == bindparam("b_last"),
    )
    .values(last_number=bindparam("b_next"))
)


async def take_numbers_after(
    tx: AsyncConnection, tax_code: str, template: str, series: str, last: int, count: int
) -> bool:
    """Take the ``count`` numbers after ``last`` if ``last`` is still the series' last number; ``False`` (nothing
    taken) if another transaction took numbers since. The series row stays locked until ``tx`` ends."""
    if last == 0:  # a new series: the row is made, unless another transaction made it first
        row = {"tax_code": tax_code, "template": template, "series": series, "last_number": count}
        return await _NEW_SERIES.on(tx).change(tx, row) == 1
    keys = {"b_tax_code": tax_code, "b_template": template, "b_series": series}
    return await _TAKE_AFTER.change(tx, {**keys, "b_last": last, "b_next": last + count}) == 1


# ---------------------------------------------------------------- the refunds of the sources' money


async def receipts_refunded_in_full(
    conn: AsyncConnection, source_type: str, refunds: Any, limit: int
) -> list[Row[Any]]:
    """(id, portal_id) of the live receipts whose source was refunded in full (``refunds``: the source's subquery)."""
    query = (
        select(R.id, R.portal_id)
        .join(refunds, refunds.c.id == R.source_id)
        .where(R.source_type == source_type, R.status == ISSUED, refunds.c.in_full)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def receipts_over_kept(
    conn: AsyncConnection, source_type: str, refunds: Any, now: datetime, limit: int
) -> list[Row[Any]]:
    """The live receipts stating more than their partly refunded source kept, not held back, oldest first."""
    query = (
        select(R.id, R.portal_id, R.agency_id, R.dossier_code, R.source_id)
        .join(refunds, refunds.c.id == R.source_id)
        .where(
            R.source_type == source_type,
            R.status == ISSUED,
            ~refunds.c.in_full,
            R.total > refunds.c.kept,
            not_held(source_type, refunds.c.id, now),
        )
        .order_by(R.issued_at, R.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


# ---------------------------------------------------------------- sources held back


def without_receipt(source_type: str, id_column: Any) -> Any:
    """A NOT EXISTS clause: the source has no original receipt yet."""
    original = select(R.id).where(and_(R.source_type == source_type, R.source_id == id_column, R.revision == 0))
    return ~original.exists()


def not_held(source_type: str, id_column: Any, now: datetime) -> Any:
    """A clause: the source is not waiting out a back-off (never failed, or its retry time has come)."""
    waiting = select(U.source_id).where(U.source_type == source_type, U.source_id == id_column, U.retry_at > now)
    return ~waiting.exists()


def pending(source_type: str, now: datetime) -> Pending:
    """The condition a source of ``source_type`` still needs its receipt: it has none and is not held back."""
    return lambda id_column: and_(without_receipt(source_type, id_column), not_held(source_type, id_column, now))


async def holds(tx: AsyncConnection, source_type: str, source_ids: Sequence[str]) -> dict[tuple[str, str], Row[Any]]:
    query = select(unissued_receipts).where(U.source_type == source_type, U.source_id.in_(source_ids))
    return {(row.source_type, row.source_id): row for row in await tx.execute(query)}


async def put_hold(tx: AsyncConnection, values: dict[str, Any]) -> None:
    """Record a held source, or count it again (keeping when it first failed)."""
    statement = dialect.insert(tx, unissued_receipts).values(**values)
    changed = {k: v for k, v in values.items() if k not in ("source_type", "source_id", "first_failed_at")}
    await tx.execute(statement.on_conflict_do_update(index_elements=[U.source_type, U.source_id], set_=changed))


_RELEASE = dialect.OneOf(
    lambda one_of: delete(unissued_receipts).where(U.source_type == bindparam("source_type"), one_of(U.source_id))
)


async def release(tx: AsyncConnection, source_type: str, source_ids: Sequence[str]) -> None:
    """Forget the sources that now have their receipt (in the transaction that stored it)."""
    if source_ids:
        await _RELEASE.on(tx).change(tx, {"source_type": source_type, "ids": list(source_ids)})


async def held(conn: AsyncConnection, limit: int = 1000) -> list[Row[Any]]:
    """The held sources, the longest-waiting first, with their agency's code."""
    query = (
        select(unissued_receipts, A.code.label("agency_code"))
        .join(ct.agencies, A.id == U.agency_id)
        .order_by(U.first_failed_at, U.source_type, U.source_id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def held_counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(U.source_type, func.count()).group_by(U.source_type))
    return {source_type: int(n) for source_type, n in rows}


async def retry_held(tx: AsyncConnection, now: datetime, agency_code: str | None) -> int:
    statement = update(unissued_receipts).values(retry_at=now)
    if agency_code is not None:
        statement = statement.where(U.agency_id == select(A.id).where(A.code == agency_code).scalar_subquery())
    return int((await tx.execute(statement)).rowcount or 0)


# ---------------------------------------------------------------- agencies and their certificates


_AGENCIES = dialect.OneOf(
    lambda one_of: select(A.id, A.code, A.name, A.tax_code, A.address, A.treasury_account).where(one_of(A.id))
)


async def agencies(conn: AsyncConnection, agency_ids: Iterable[str]) -> dict[str, Agency]:
    rows = await _AGENCIES.on(conn).rows(conn, {"ids": list(set(agency_ids))})
    return {row["id"]: Agency(**dict(row)) for row in rows}


async def agency_code(conn: AsyncConnection, agency_id: str) -> str:
    return str((await conn.execute(select(A.code).where(A.id == agency_id))).scalar_one())


async def agency_ids(conn: AsyncConnection, codes: Iterable[str]) -> dict[str, str]:
    """The ids of the agencies with these codes, by code."""
    return dict((await conn.execute(select(A.code, A.id).where(A.code.in_(list(codes))))).tuples().all())


async def procedure_id(conn: AsyncConnection, agency_id: str, procedure_code: str) -> str | None:
    pr = ct.procedures.c
    query = select(pr.id).where(pr.agency_id == agency_id, pr.code == procedure_code)
    return (await conn.execute(query)).scalar_one_or_none()


_KEEP_CERTIFICATE = dialect.Inserting(
    lambda insert: insert(agency_certificates).on_conflict_do_nothing(index_elements=[C.agency_id, C.fingerprint])
)


async def keep_certificate(tx: AsyncConnection, values: dict[str, Any]) -> None:
    """Keep a certificate as one of the agency's; one already kept is left as it is."""
    await _KEEP_CERTIFICATE.on(tx).change(tx, values)


def keep_certificates(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
    """``keep_certificate`` for each of ``rows`` when ``uow`` commits, with its other kept writes."""
    uow.later(_KEEP_CERTIFICATE.on(uow.conn), rows)


async def certificates_kept(conn: AsyncConnection, agency_id: str) -> list[Row[Any]]:
    """What is kept of each of the agency's certificates, the oldest first."""
    query = (
        select(C.fingerprint, C.subject, C.not_before, C.not_after, C.origin)
        .where(C.agency_id == agency_id)
        .order_by(C.not_before)
    )
    return list((await conn.execute(query)).all())


async def certificates_of_agency(conn: AsyncConnection, agency_id: str) -> list[bytes]:
    """The DER certificates of one agency."""
    return [der for (der,) in await conn.execute(select(C.certificate).where(C.agency_id == agency_id))]


async def certificates_of_collector(conn: AsyncConnection, tax_code: str) -> list[bytes]:
    """The DER certificates of every agency collecting under ``tax_code``."""
    query = (
        select(C.certificate)
        .select_from(agency_certificates.join(ct.agencies, A.id == C.agency_id))
        .where(A.tax_code == tax_code)
    )
    return [der for (der,) in await conn.execute(query)]
