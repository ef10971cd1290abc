"""Money collected, as one area tells another: the kinds of source a receipt is issued for, and the hook through
which the area that collected announces it (after its transaction committed). The bootstrap wires the hook to
the receipt queue, so payments and shipments know nothing of receipts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

PAYMENT = "payment"  # a fee paid through the hub
COD = "cod"  # fees the post collected on delivery

# ``on_collected(source_type, source_id)``: must not raise (the receipt sweeper is the safety net).
OnCollected = Callable[[str, str], Awaitable[None]]


async def ignore(source_type: str, source_id: str) -> None:
    """The hook where nobody listens (tools and tests that issue receipts themselves)."""
