"""What a receipt says, as checked values: whatever passes here builds a schema-valid document.

Every Struct validates itself when made (and when decoded by msgspec), so a bad value is refused where it
enters, with the field named, instead of surfacing later as a schema or signing failure.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import msgspec

from adapters.vntime import business_day, to_vn

from . import codes
from .errors import ReceiptError


def _text(struct: msgspec.Struct, field: str, where: str, limit: int, *, required: bool = True) -> str:
    """Check one text field, store it in NFC (so the same name is the same bytes everywhere) and return it."""
    value = getattr(struct, field)
    name = f"{where}.{field}" if where else field
    if not isinstance(value, str):
        raise ReceiptError(name, f"must be text, not {type(value).__name__}")
    if required and not value.strip():
        raise ReceiptError(name, "is required")
    if codes.NOT_XML_TEXT.search(value):
        raise ReceiptError(name, "contains a control character")
    normal = unicodedata.normalize("NFC", value)
    if len(normal) > limit:
        raise ReceiptError(name, f"is longer than {limit} characters")
    if normal != value:
        msgspec.structs.force_setattr(struct, field, normal)
    return normal


def _match(value: str, pattern: re.Pattern[str], name: str, what: str) -> None:
    if value and not pattern.fullmatch(value):
        raise ReceiptError(name, f"{value!r} is not {what}")


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReceiptError(name, f"must be a whole number, not {type(value).__name__}")
    if not low <= value <= high:
        raise ReceiptError(name, f"{value} is outside {low}..{high}")
    return value


def _check_symbols(template: object, series: object, where: str) -> None:
    if template not in codes.TEMPLATES:
        raise ReceiptError(f"{where}template", f"{template!r} is not one of {', '.join(codes.TEMPLATES)}")
    if not isinstance(series, str) or not codes.SERIES_PATTERN.fullmatch(series):
        raise ReceiptError(f"{where}series", f"{series!r} is not two digits of the year followed by T")


class Organisation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The collecting agency (NThu), in whose name the receipt is issued and signed."""

    name: str
    tax_code: str
    address: str
    treasury_account: str

    def __post_init__(self) -> None:
        _text(self, "name", "collector", codes.MAX_NAME)
        _match(_text(self, "tax_code", "collector", 14), codes.TAX_CODE_PATTERN, "collector.tax_code",
               "a tax code")
        _text(self, "address", "collector", codes.MAX_ADDRESS)
        _match(_text(self, "treasury_account", "collector", 30), codes.TREASURY_ACCOUNT_PATTERN,
               "collector.treasury_account", "an account number")


class Payer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The person or business who paid (NNop); only the name is always known."""

    name: str
    id_number: str = ""
    tax_code: str = ""
    address: str = ""

    def __post_init__(self) -> None:
        _text(self, "name", "payer", codes.MAX_NAME)
        _match(_text(self, "id_number", "payer", 20, required=False), codes.ID_NUMBER_PATTERN,
               "payer.id_number", "an identity document number")
        _match(_text(self, "tax_code", "payer", 14, required=False), codes.TAX_CODE_PATTERN,
               "payer.tax_code", "a tax code")
        _text(self, "address", "payer", codes.MAX_ADDRESS, required=False)


class Line(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One fee (phí, kind 1) or charge (lệ phí, kind 2) collected, in whole đồng."""

    kind: int
    code: str
    name: str
    amount: int

    def __post_init__(self) -> None:
        if self.kind not in set(codes.LineKind):
            raise ReceiptError("line.kind", f"{self.kind!r} is not 1 (phí) or 2 (lệ phí)")
        _text(self, "code", "line", codes.MAX_CODE)
        _text(self, "name", "line", codes.MAX_LINE_NAME)
        _whole(self.amount, "line.amount", 1, codes.MAX_AMOUNT)


class Related(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The earlier receipt this one replaces (kind 1) or adjusts (kind 2)."""

    kind: int
    template: str
    series: str
    number: int
    issued_on: date

    def __post_init__(self) -> None:
        if self.kind not in set(codes.RelatedKind):
            raise ReceiptError("related.kind", f"{self.kind!r} is not 1 (replace) or 2 (adjust)")
        _check_symbols(self.template, self.series, "related.")
        _whole(self.number, "related.number", 1, codes.MAX_NUMBER)
        if isinstance(self.issued_on, datetime) or not isinstance(self.issued_on, date):
            raise ReceiptError("related.issued_on", "must be a calendar date")


class ReceiptData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything one receipt states; its total is the sum of its lines, never given separately.

    ``lookup_url`` is the address of this receipt's own lookup page: the QR code opens it as given.
    """

    template: str
    series: str
    number: int
    issued_at: datetime
    lookup_code: str
    lookup_url: str
    payment_method: str
    collector: Organisation
    payer: Payer
    lines: list[Line]
    dossier_code: str = ""
    procedure_code: str = ""
    transaction_id: str = ""
    related: Related | None = None

    def __post_init__(self) -> None:
        _check_symbols(self.template, self.series, "")
        _whole(self.number, "number", 1, codes.MAX_NUMBER)
        if not isinstance(self.issued_at, datetime) or self.issued_at.tzinfo is None:
            raise ReceiptError("issued_at", "must be a datetime with its zone")
        year = to_vn(self.issued_at).year
        if self.series[:2] != f"{year % 100:02d}":
            raise ReceiptError("series", f"{self.series!r} does not match the issue year {year}")
        _text(self, "lookup_code", "", codes.MAX_LOOKUP_CODE)
        url = _text(self, "lookup_url", "", codes.MAX_URL)
        if not codes.URL_PATTERN.fullmatch(url):
            raise ReceiptError("lookup_url", f"{url!r} is not an http(s) address (percent-encoded ASCII)")
        _text(self, "payment_method", "", codes.MAX_PAYMENT_METHOD)
        for name, kind in (("collector", Organisation), ("payer", Payer)):
            if not isinstance(getattr(self, name), kind):
                raise ReceiptError(name, f"must be a {kind.__name__}")
        if not isinstance(self.lines, list | tuple) or not self.lines:
            raise ReceiptError("lines", "at least one line is required")
        if len(self.lines) > codes.MAX_LINES:
            raise ReceiptError("lines", f"more than {codes.MAX_LINES} lines")
        for index, line in enumerate(self.lines):
            if not isinstance(line, Line):
                raise ReceiptError(f"lines[{index}]", "must be a Line")
        _whole(self.total, "total", 1, codes.MAX_AMOUNT)
        for name in ("dossier_code", "procedure_code", "transaction_id"):
            _text(self, name, "", codes.MAX_CODE, required=False)
        if self.related is not None and not isinstance(self.related, Related):
            raise ReceiptError("related", "must be a Related")

    @property
    def total(self) -> int:
        """TgTien: derived from the lines so that it can never disagree with them."""
        return sum(line.amount for line in self.lines)

    @property
    def issued_on(self) -> date:
        """NLap: the Vietnam calendar day of issue."""
        return business_day(self.issued_at)
