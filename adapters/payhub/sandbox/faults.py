"""Faults a test or demo can switch on: they persist until cleared, so one setting covers a whole scenario."""

from __future__ import annotations

import msgspec

# What a ``garbage`` fault answers with (HTTP 200): a proxy's error page, or JSON that is not the protocol's.
GARBAGE = {
    "text": b"<html><body>502 Bad Gateway - he thong dang bao tri</body></html>",
    "json": b'{"status": "ok", "data": null}',
}


class CallbackFaults(msgspec.Struct, forbid_unknown_fields=True):
    drop: int = 0  # the next N callbacks are never sent (and never retried)
    repeat: int = 1  # each callback is delivered N times concurrently
    delay_seconds: float = 0.0  # real seconds before the first attempt
    reorder: bool = False  # held until released, then sent newest first
    alter_amount: int = 0  # added to SoTien, then signed: only the amount is wrong
    bad_checksum: bool = False  # MaXacThuc corrupted


class InitFaults(msgspec.Struct, forbid_unknown_fields=True):
    fail_code: str | None = None  # answered with this MaLoi, nothing recorded
    http_status: int | None = None  # answered with this HTTP status and no body, nothing recorded
    stall_seconds: float = 0.0  # recorded, then answered this late
    garbage: str = ""  # "text" or "json": recorded, then answered 200 with a body that is not a reply


class QueryFaults(msgspec.Struct, forbid_unknown_fields=True):
    http_status: int | None = None
    stall_seconds: float = 0.0
    garbage: str = ""


class RefundFaults(msgspec.Struct, forbid_unknown_fields=True):
    processing: bool = False  # refunds stay "3" until completed through the control API
    http_status: int | None = None
    stall_seconds: float = 0.0
    garbage: str = ""  # the refund is recorded, the answer is garbage


class Faults(msgspec.Struct, forbid_unknown_fields=True):
    callback: CallbackFaults = msgspec.field(default_factory=CallbackFaults)
    init: InitFaults = msgspec.field(default_factory=InitFaults)
    query: QueryFaults = msgspec.field(default_factory=QueryFaults)
    refund: RefundFaults = msgspec.field(default_factory=RefundFaults)

    def validate(self) -> Faults:
        numbers = (self.callback.drop, self.callback.delay_seconds, self.init.stall_seconds,
                   self.query.stall_seconds, self.refund.stall_seconds)
        if any(n < 0 for n in numbers) or self.callback.repeat < 1:
            raise ValueError("counts and delays must not be negative; repeat is at least 1")
        for status in (self.init.http_status, self.query.http_status, self.refund.http_status):
            if status is not None and not 100 <= status <= 599:
                raise ValueError(f"not an HTTP status: {status}")
        for kind in (self.init.garbage, self.query.garbage, self.refund.garbage):
            if kind and kind not in GARBAGE:
                raise ValueError(f"garbage must be one of {sorted(GARBAGE)}")
        return self

    def take_drop(self) -> bool:
        """Use up one dropped callback, if any are left."""
        if self.callback.drop > 0:
            self.callback.drop -= 1
            return True
        return False
