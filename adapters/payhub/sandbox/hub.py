"""The sandbox's parts in one object shared by its routes: ledger, faults, clock, settlement edits, sender."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeAlias

from litestar import Request

from adapters.vntime import now_utc

from . import protocol
from .callbacks import CallbackSender, Delivery
from .config import SandboxConfig
from .faults import Faults
from .settlement import Edit, Row, apply_edit, apply_edits, ledger_rows
from .state import Ledger, Order

AnyRequest: TypeAlias = Request[Any, Any, Any]


@dataclass
class Clock:
    """The settlement clock: real time unless a test sets it, so today's file can be fetched today."""

    override: datetime | None = None

    def now(self) -> datetime:
        return self.override or now_utc()


@dataclass
class Sandbox:
    config: SandboxConfig
    sender: CallbackSender
    ledger: Ledger = field(default_factory=Ledger)
    faults: Faults = field(default_factory=Faults)
    clock: Clock = field(default_factory=Clock)
    edits: dict[date, list[Edit]] = field(default_factory=lambda: defaultdict(list))

    def checkout_url(self, order: Order) -> str:
        return f"{self.config.public_url}/checkout/{order.token}"

    def confirm_body(self, order: Order) -> dict[str, object]:
        return protocol.confirm(order, self.config.partner_code, self.config.hash_key)

    def conclude(
        self, order: Order, result: str, bank_code: str, at: datetime | None = None
    ) -> list[Delivery]:
        """Record the citizen's result and start its CONFIRM callback, as the checkout page does."""
        self.ledger.conclude(order, result, bank_code, at or now_utc())
        return self.sender.send(order.reference, self.confirm_body(order), self.faults.callback,
                                drop=self.faults.take_drop())

    def settlement_rows(self, day: date) -> list[Row]:
        return apply_edits(ledger_rows(self.ledger, day), self.edits.get(day, []), day)

    def edit_settlement(self, day: date, edit: Edit) -> list[Row]:
        """Check the edit against the file as it stands, then keep it; returns the file's new rows."""
        rows = apply_edit(self.settlement_rows(day), edit, day)
        self.edits[day].append(edit)
        return rows

    async def reset(self) -> None:
        await self.sender.reset()
        self.ledger = Ledger()
        self.faults = Faults()
        self.clock = Clock()
        self.edits = defaultdict(list)


def sandbox_of(request: AnyRequest) -> Sandbox:
    """The sandbox a route serves, kept in the application's state."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox
