"""Money collected, as one area tells another: the kinds of source a receipt is issued for, and the hook through
which the area that collected announces it (after its transaction committed). The bootstrap wires the hook to
the receipt queue, so payments and shipments know nothing of receipts. ``CollectionSource`` is the port through
which the receipt issuer reads a collected source: each collecting area implements it over its own tables, and the
bootstrap hands the implementations to the receipts area."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from receipts import Line, Payer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

PAYMENT = "payment"  # a fee paid through the hub
COD = "cod"  # fees the post collected on delivery

# ``on_collected(source_type, source_id)``: must not raise (the receipt sweeper is the safety net).
OnCollected = Callable[[str, str], Awaitable[None]]


async def ignore(source_type: str, source_id: str) -> None:
    """The hook where nobody listens (tools and tests that issue receipts themselves)."""


# ---------------------------------------------------------------- the port a money-collecting area provides

SOURCE_TYPES: tuple[str, ...] = (PAYMENT, COD)


@dataclass(frozen=True)
class Collected:
    """Money collected for a dossier, with what its receipt states about the payer and the fees. The collector on
    the receipt is the agency's (``agency_id``), which the receipts area reads from the catalogue."""

    type: str
    id: str
    portal_id: str
    agency_id: str
    dossier_code: str
    payer: Payer
    lines: tuple[Line, ...]
    payment_method: str
    procedure_code: str = ""
    transaction_id: str = ""

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class Unreceiptable:
    """A collected source whose stored data a receipt cannot carry (or that cannot be signed now), and why."""

    type: str
    id: str
    portal_id: str
    agency_id: str
    dossier_code: str
    reason: str


Loaded = Collected | Unreceiptable

# ``pending(id_column)``: the SQL condition, on a source's id column, that the source still needs its receipt (it
# has none and is not held back). The receipts area makes it; the source's own query uses it, so neither area
# reads the other's tables.
Pending = Callable[[Any], Any]


class CollectionSource(Protocol):
    """What an area that collects money tells the receipt issuer, reading only its own tables."""

    type: str

    async def load(self, conn: AsyncConnection, source_ids: Sequence[str]) -> list[Loaded]:
        """The sources among ``source_ids`` that exist and were collected, in the order asked; one whose data a
        receipt cannot carry comes back ``Unreceiptable`` (never dropped)."""
        ...

    async def unreceipted(
        self, conn: AsyncConnection, limit: int, pending: Pending, collected_by: datetime
    ) -> list[str]:
        """Ids of the sources recorded as collected at or before ``collected_by`` for which ``pending`` holds,
        oldest first."""
        ...

    async def receipted(self, conn: AsyncConnection, issued: Sequence[tuple[str, str]]) -> None:
        """Told (source id, receipt id) in the transaction that stores the receipts."""
        ...


class RefundedSource(CollectionSource, Protocol):
    """A source whose money can be given back (a payment): what a refund leaves of it."""

    def refunds(self) -> Any:
        """A subquery of the refunded sources: ``id``, ``kept`` (what is left after refunds) and ``in_full``."""
        ...

    async def kept(self, conn: AsyncConnection, source_id: str) -> int | None:
        """What a partly refunded source kept; None unless it is partly refunded now."""
        ...
