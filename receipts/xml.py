"""The receipt document built from checked data: pure, no I/O.

The tree carries no whitespace between tags (the signed bytes are exactly the data), leaves optional empty
elements out, and writes dates and times in Vietnam time without an offset, as the format requires.
"""

from __future__ import annotations

from lxml import etree

from . import codes
from .model import Line, ReceiptData, Related
from .words import amount_in_words

_SubElement = etree.SubElement


def _add(parent: etree._Element, tag: str, text: str) -> None:
    _SubElement(parent, tag).text = text


def _add_optional(parent: etree._Element, tag: str, text: str) -> None:
    if text:
        _SubElement(parent, tag).text = text


def _related(parent: etree._Element, related: Related) -> None:
    node = _SubElement(parent, "TTBLLQuan")
    _add(node, "TCBLai", str(int(related.kind)))
    _add(node, "KHMSBLCLQuan", related.template)
    _add(node, "KHBLCLQuan", related.series)
    _add(node, "SBLCLQuan", str(related.number))
    _add(node, "NLBLCLQuan", related.issued_on.isoformat())


def _line(parent: etree._Element, position: int, line: Line) -> None:
    node = _SubElement(parent, "Khoan")
    _add(node, "STT", str(position))
    _add(node, "LKhoan", str(int(line.kind)))
    _add(node, "MKhoan", line.code)
    _add(node, "TKhoan", line.name)
    _add(node, "STien", str(line.amount))


def build_tree(data: ReceiptData) -> etree._Element:
    """The unsigned receipt as a tree, with an empty DSCKS/NThu where the signature will go."""
    root = etree.Element("BLai")
    body = _SubElement(root, "DLBLai", Id=codes.DATA_ID)

    general = _SubElement(body, "TTChung")
    _add(general, "PBan", codes.FORMAT_VERSION)
    _add(general, "THDon", codes.TITLE)
    _add(general, "KHMSBLai", data.template)
    _add(general, "KHBLai", data.series)
    _add(general, "SBLai", str(data.number))
    _add(general, "NLap", data.issued_on.isoformat())
    _add(general, "DVTTe", codes.CURRENCY)
    _add(general, "HTTToan", data.payment_method)
    _add(general, "MTCuu", data.lookup_code)
    _add(general, "DDTCuu", data.lookup_url)
    if data.related is not None:
        _related(general, data.related)

    content = _SubElement(body, "NDBLai")
    collector = _SubElement(content, "NThu")
    _add(collector, "Ten", data.collector.name)
    _add(collector, "MST", data.collector.tax_code)
    _add(collector, "DChi", data.collector.address)
    _add(collector, "STKNHang", data.collector.treasury_account)
    payer = _SubElement(content, "NNop")
    _add(payer, "Ten", data.payer.name)
    _add_optional(payer, "MDDanh", data.payer.id_number)
    _add_optional(payer, "MST", data.payer.tax_code)
    _add_optional(payer, "DChi", data.payer.address)
    lines = _SubElement(content, "DSKhoan")
    for position, line in enumerate(data.lines, start=1):
        _line(lines, position, line)
    total = data.total
    _add(content, "TgTien", str(total))
    _add(content, "TgTienBChu", amount_in_words(total))
    if data.dossier_code or data.procedure_code or data.transaction_id:
        other = _SubElement(content, "TTKhac")
        _add_optional(other, "MHSo", data.dossier_code)
        _add_optional(other, "MTTHC", data.procedure_code)
        _add_optional(other, "MGDich", data.transaction_id)

    _add(root, "DLQRCode", qr_content(data))
    _SubElement(_SubElement(root, "DSCKS"), "NThu")
    return root


def qr_content(data: ReceiptData) -> str:
    """What the receipt's QR code holds: the address of its lookup page."""
    return data.lookup_url


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build(data: ReceiptData) -> bytes:
    """The unsigned receipt document, UTF-8 with an XML declaration."""
    return serialize(build_tree(data))
