"""What a receipt says about a source: its payer and lines, made by the receipt library's own checked values.

The same functions build a stored source's receipt (``payments.collections``, ``shipments.collections``,
``receipts.corrections``) and check a portal's request before anything is stored (the API's request Structs, the
shipment service): what they refuse at
the door is exactly what the receipt could not carry later, so money accepted is money that can be receipted.
Each raises ``ReceiptError`` (a ``ValueError``) naming the receipt's field.
"""

from __future__ import annotations

from receipts import Line, Payer

LE_PHI = 2
COD_LINE_CODE = "COD"
MAX_LINE_NAME = 255  # the fee name as stored (VARCHAR 255)


def payer(name: str, id_number: str = "", tax_code: str = "", address: str = "") -> Payer:
    """NNop: the person or business who paid."""
    return Payer(name=name, id_number=id_number, tax_code=tax_code, address=address)


def line(kind: int, code: str, name: str, amount: int) -> Line:
    """One fee (phí, 1) or charge (lệ phí, 2) collected."""
    return Line(kind=kind, code=code, name=name, amount=amount)


def cod_payer(name: str, street: str, commune_name: str, province_name: str) -> Payer:
    """The citizen who paid the post on delivery, at the address the parcel went to."""
    address = ", ".join(part for part in (street, commune_name, province_name) if part)
    return Payer(name=name.strip(), address=address)


def cod_line(dossier_code: str, amount: int) -> Line:
    """The one line of a COD receipt when the catalogue's fixed fees do not account for the amount collected."""
    name = f"Phí, lệ phí hồ sơ {dossier_code} thu hộ qua bưu chính"
    return Line(kind=LE_PHI, code=COD_LINE_CODE, name=name[:MAX_LINE_NAME], amount=amount)
