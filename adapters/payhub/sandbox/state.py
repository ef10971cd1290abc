"""The hub's in-memory ledger: orders, their transactions and refunds. Pure: no I/O, times passed in.

The rules here are the hub's side of the contract: an order is opened once per reference (a repeat with the
same content is answered alike, with other content refused), a transaction ends an order's open state once,
and refunds never add up to more than was paid.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from adapters.payhub.codes import BILL_CODE_OF, REFUND_DONE, REFUND_PROCESSING, Outcome, Reply
from adapters.payhub.messages import ReceiptInfo
from adapters.vntime import to_vn

NOT_PAID = BILL_CODE_OF[Outcome.NOT_PAID]
PAID = BILL_CODE_OF[Outcome.PAID]
FAILED = BILL_CODE_OF[Outcome.FAILED]
PROCESSING = BILL_CODE_OF[Outcome.PROCESSING]
EXPIRED = BILL_CODE_OF[Outcome.EXPIRED]
REFUNDED = BILL_CODE_OF[Outcome.REFUNDED]

# The bill state a citizen's result at checkout leaves an order in.
RESULT_STATE: dict[str, str] = {"00": PAID, "24": EXPIRED, "51": FAILED, "99": FAILED}
OPEN_STATES = frozenset({NOT_PAID, PROCESSING})


class LedgerError(Exception):
    """An operation the order's state does not allow (paying twice, completing a finished refund)."""


@dataclass(frozen=True)
class OrderRequest:
    """A checked init: what the hub keeps of it."""

    reference: str
    amount: int
    receipt: ReceiptInfo
    description: str = ""
    bank_code: str = ""

    def fingerprint(self) -> bytes:
        """The content deciding whether a repeated init is the same order (not its time, address or key)."""
        return msgspec.json.encode({"SoTien": self.amount, "ThongTinBienLai": _normal_receipt(self.receipt)})


@dataclass
class Refund:
    refund_reference: str
    reference: str
    transaction_id: str  # the refund's own MaGiaoDich, as listed in the settlement file
    amount: int
    reason: str
    requested_at: datetime
    state: str = REFUND_DONE
    completed_at: datetime | None = None


@dataclass
class Order:
    request: OrderRequest
    token: str
    created_at: datetime
    state: str = NOT_PAID
    result_code: str = ""
    transaction_id: str = ""
    bank_code: str = ""
    paid_at: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.request.reference

    @property
    def amount(self) -> int:
        return self.request.amount

    def refundable(self) -> int:
        """What is left to refund; refunds still processing already count."""
        if self.state not in (PAID, REFUNDED):
            return 0
        return self.amount - sum(refund.amount for refund in self.refunds)


@dataclass(frozen=True)
class RefundAnswer:
    """The first answer to a refund request, replayed when the same ``MaYeuCauHoan`` comes again."""

    code: str
    refund: Refund | None = None

    @property
    def state(self) -> str:
        return self.refund.state if self.refund else ""


class Ledger:
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self._tokens: dict[str, str] = {}
        self._refund_answers: dict[str, RefundAnswer] = {}
        self._refunds: dict[str, Refund] = {}
        self._ids: set[str] = set()

    def open(self, request: OrderRequest, now: datetime) -> tuple[Reply, Order | None]:
        """Open an order, or answer a repeat: the same content gets the same order, other content ``02``."""
        known = self.orders.get(request.reference)
        if known is not None:
            if known.request.fingerprint() == request.fingerprint():
                return Reply.OK, known
            return Reply.UNKNOWN_REFERENCE, None
        order = Order(request=request, token=secrets.token_urlsafe(18), created_at=now)
        self.orders[request.reference] = order
        self._tokens[order.token] = request.reference
        return Reply.OK, order

    def by_token(self, token: str) -> Order | None:
        reference = self._tokens.get(token)
        return self.orders.get(reference) if reference else None

    def conclude(self, order: Order, result: str, bank_code: str, at: datetime) -> Order:
        """The citizen's result at checkout: record the transaction once; an order that ended stays ended."""
        if result not in RESULT_STATE:
            raise LedgerError(f"unknown result {result!r}")
        if order.state not in OPEN_STATES:
            raise LedgerError(f"order {order.reference} is already {order.state}")
        order.state = RESULT_STATE[result]
        order.result_code = result
        order.transaction_id = order.transaction_id or self._new_id("HUB", at)
        order.bank_code = bank_code
        order.paid_at = at
        return order

    def hold(self, order: Order) -> Order:
        """The bank has not answered yet: the order shows as processing until a result comes."""
        if order.state not in OPEN_STATES:
            raise LedgerError(f"order {order.reference} is already {order.state}")
        order.state = PROCESSING
        return order

    def expire(self, order: Order) -> Order:
        if order.state not in OPEN_STATES:
            raise LedgerError(f"order {order.reference} is already {order.state}")
        order.state = EXPIRED
        return order

    def refund(
        self,
        reference: str,
        transaction_id: str,
        refund_reference: str,
        amount: int,
        reason: str,
        now: datetime,
        processing: bool = False,
    ) -> RefundAnswer:
        """Refund part or all of a paid transaction; a repeated refund reference gets its first answer."""
        answered = self._refund_answers.get(refund_reference)
        if answered is not None:
            return answered
        order = self.orders.get(reference)
        if order is None or not order.transaction_id or order.transaction_id != transaction_id:
            answer = RefundAnswer(Reply.UNKNOWN_REFERENCE)
        elif order.state not in (PAID, REFUNDED):
            answer = RefundAnswer(Reply.UNKNOWN_REFERENCE)
        elif amount <= 0 or amount > order.refundable():
            answer = RefundAnswer(Reply.AMOUNT_MISMATCH)
        else:
            refund = Refund(
                refund_reference=refund_reference,
                reference=reference,
                transaction_id=self._new_id("RF", now),
                amount=amount,
                reason=reason,
                requested_at=now,
                state=REFUND_PROCESSING if processing else REFUND_DONE,
            )
            order.refunds.append(refund)
            self._refunds[refund_reference] = refund
            if not processing:
                self._finish(order, refund, now)
            answer = RefundAnswer(Reply.OK, refund)
        self._refund_answers[refund_reference] = answer
        return answer

    def complete_refund(self, refund_reference: str, now: datetime) -> Refund:
        refund = self._refunds.get(refund_reference)
        if refund is None:
            raise KeyError(refund_reference)
        if refund.state != REFUND_PROCESSING:
            raise LedgerError(f"refund {refund_reference} is not processing")
        self._finish(self.orders[refund.reference], refund, now)
        return refund

    def refunds(self) -> list[Refund]:
        return list(self._refunds.values())

    def _finish(self, order: Order, refund: Refund, now: datetime) -> None:
        refund.state = REFUND_DONE
        refund.completed_at = now
        done = sum(r.amount for r in order.refunds if r.state == REFUND_DONE)
        if done == order.amount:
            order.state = REFUNDED

    def _new_id(self, prefix: str, at: datetime) -> str:
        """A transaction id never handed out before by this ledger, and unlikely to repeat across restarts."""
        while True:
            candidate = f"{prefix}{to_vn(at):%Y%m%d}{secrets.randbelow(10**10):010d}"
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate


def _normal_receipt(receipt: ReceiptInfo) -> object:
    """Receipt info with amounts and fee kinds as integers, so ``"150000"`` and ``150000`` compare equal."""
    data = msgspec.to_builtins(receipt)
    data["PhiLePhi"] = [
        {**line, "LoaiPhiLePhi": int(line["LoaiPhiLePhi"]), "SoTien": int(line["SoTien"])}
        for line in data["PhiLePhi"]
    ]
    return data
