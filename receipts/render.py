"""The receipt for people: an HTML page and a PDF, both in Vietnamese, both with the lookup QR code.

Both renderings say the same things in the same words (the labels and formats below), and both show whether
the signature was checked: a rendering never claims a signature it was not given a verification for. A rendering
made with ``masked=True`` shows at most the last four characters of the payer's identity number (for pages
anyone with the lookup code can open); the signed XML stays the whole document.
"""

from __future__ import annotations

import io
from datetime import date
from html import escape
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.fonts import FontFace

from adapters.vntime import to_vn

from . import codes
from .model import ReceiptData
from .signing import Verification
from .words import amount_in_words
from .xml import qr_content

# Debian's fonts-dejavu-core: full Vietnamese coverage, precomposed letters included.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

HEADING = "BIÊN LAI THU PHÍ, LỆ PHÍ"
LINE_COLUMNS = ("STT", "Loại", "Mã khoản", "Tên khoản thu", "Số tiền (đồng)")


def format_amount(amount: int) -> str:
    """Đồng with the Vietnamese thousands separator: 1.250.000."""
    return f"{amount:,}".replace(",", ".")


def format_day(day: date) -> str:
    return f"Ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def signature_status(verification: Verification | None) -> str:
    if verification is None:
        return "Chữ ký số: chưa được kiểm tra"
    if not verification.valid:
        return f"Chữ ký số: KHÔNG HỢP LỆ ({verification.explanation})"
    when = ""
    if verification.signing_time is not None:
        when = f" lúc {to_vn(verification.signing_time).strftime('%H:%M:%S %d/%m/%Y')}"
    return f"Chữ ký số: hợp lệ, ký bởi {verification.subject}{when}"


def _related_text(data: ReceiptData) -> str:
    related = data.related
    if related is None:
        return ""
    kind = codes.RELATED_KIND_NAMES[codes.RelatedKind(related.kind)]
    return (
        f"{kind} cho biên lai mẫu số {related.template}, ký hiệu {related.series}, "
        f"số {related.number:07d}, ngày {related.issued_on.strftime('%d/%m/%Y')}"
    )


def masked_id_number(id_number: str) -> str:
    """``001203004567`` → ``********4567``: enough for the payer to recognise, too little to misuse."""
    shown = min(4, len(id_number) // 3)
    return "*" * (len(id_number) - shown) + id_number[len(id_number) - shown :]


def _facts(data: ReceiptData, masked: bool = False) -> list[tuple[str, str]]:
    """The labelled facts printed above the lines, in reading order, empty ones left out."""
    id_number = masked_id_number(data.payer.id_number) if masked and data.payer.id_number else data.payer.id_number
    facts = [
        ("Đơn vị thu", data.collector.name),
        ("Mã số thuế", data.collector.tax_code),
        ("Địa chỉ", data.collector.address),
        ("Tài khoản", data.collector.treasury_account),
        ("Người nộp", data.payer.name),
        ("Số giấy tờ tùy thân", id_number),
        ("Mã số thuế người nộp", data.payer.tax_code),
        ("Địa chỉ người nộp", data.payer.address),
        ("Hình thức thanh toán", data.payment_method),
        ("Mã hồ sơ", data.dossier_code),
        ("Mã thủ tục hành chính", data.procedure_code),
        ("Mã giao dịch", data.transaction_id),
    ]
    return [(label, value) for label, value in facts if value]


def _symbols(data: ReceiptData) -> str:
    return f"Mẫu số: {data.template}   Ký hiệu: {data.series}   Số: {data.number:07d}"


def _line_rows(data: ReceiptData) -> list[tuple[str, str, str, str, str]]:
    return [
        (str(i), codes.LINE_KIND_NAMES[codes.LineKind(line.kind)], line.code, line.name, format_amount(line.amount))
        for i, line in enumerate(data.lines, start=1)
    ]


def _lookup(data: ReceiptData) -> str:
    return f"Tra cứu biên lai tại {data.lookup_url} với mã tra cứu {data.lookup_code}"


_STYLE = (
    "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:52rem;margin:2rem auto;color:#111}"
    "h1{text-align:center;font-size:1.4rem;margin-bottom:.2rem}.centre{text-align:center}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #888;padding:.3rem .5rem}"
    "td.money,th.money{text-align:right}dl{display:grid;grid-template-columns:14rem 1fr;gap:.2rem}"
    "dt{font-weight:bold}.status{margin-top:1rem;font-weight:bold}.qr{float:right}"
)


def to_html(data: ReceiptData, verification: Verification | None = None, *, masked: bool = False) -> str:
    """A complete HTML page for the receipt; every value from the data is escaped."""
    e = escape
    facts = "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in _facts(data, masked))
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row[:-1]) + f'<td class="money">{e(row[-1])}</td></tr>'
        for row in _line_rows(data)
    )
    head = "".join(f"<th>{e(name)}</th>" for name in LINE_COLUMNS[:-1]) + f'<th class="money">{LINE_COLUMNS[-1]}</th>'
    related = _related_text(data)
    qr = segno.make(qr_content(data), error="m").svg_inline(scale=3)
    total = data.total
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{e(codes.TITLE)} {e(data.series)} {data.number:07d}</title><style>{_STYLE}</style></head><body>"
        f'<div class="qr">{qr}</div>'
        f"<h1>{e(HEADING)}</h1>"
        f'<p class="centre">{e(_symbols(data))}</p>'
        f'<p class="centre">{e(format_day(data.issued_on))}</p>'
        + (f'<p class="centre"><em>{e(related)}</em></p>' if related else "")
        + f"<dl>{facts}</dl>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
        f'<tfoot><tr><th colspan="4">Tổng cộng</th><td class="money">{format_amount(total)}</td></tr></tfoot>'
        "</table>"
        f"<p><strong>Số tiền bằng chữ:</strong> {e(amount_in_words(total))}</p>"
        f'<p class="status">{e(signature_status(verification))}</p>'
        f"<p>{e(_lookup(data))}</p>"
        "</body></html>"
    )


def _font_file(path: str | Path) -> str:
    if not Path(path).is_file():
        raise FileNotFoundError(f"font {path} not found: install Debian's fonts-dejavu-core or pass a TTF path")
    return str(path)


def to_pdf(
    data: ReceiptData,
    verification: Verification | None = None,
    *,
    masked: bool = False,
    font: str | Path = FONT,
    bold_font: str | Path = BOLD_FONT,
) -> bytes:
    """An A4 PDF of the receipt with the TTF fonts embedded, so Vietnamese shows and copies correctly."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"{codes.TITLE} {data.series} {data.number:07d}")
    pdf.set_creator("receipts")
    pdf.set_lang("vi")
    pdf.add_font("Receipt", "", _font_file(font))
    pdf.add_font("Receipt", "B", _font_file(bold_font))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    qr = io.BytesIO()
    segno.make(qr_content(data), error="m").save(qr, kind="png", scale=4, border=2)
    pdf.image(qr, x=pdf.l_margin + width - 30, y=pdf.t_margin, w=30, h=30)

    pdf.set_font("Receipt", "B", 15)
    pdf.cell(width - 32, 9, HEADING, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Receipt", "", 10)
    pdf.cell(width - 32, 6, _symbols(data), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width - 32, 6, format_day(data.issued_on), align="C", new_x="LMARGIN", new_y="NEXT")
    related = _related_text(data)
    if related:
        pdf.multi_cell(width - 32, 6, related, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), pdf.t_margin + 32))

    for label, value in _facts(data, masked):
        pdf.set_font("Receipt", "B", 10)
        pdf.cell(55, 6, f"{label}:")
        pdf.set_font("Receipt", "", 10)
        pdf.multi_cell(width - 55, 6, value, new_x="LMARGIN", new_y="NEXT")

    pdf.ln(3)
    pdf.set_font("Receipt", "", 9)
    with pdf.table(
        col_widths=(10, 16, 28, 90, 36),
        text_align=("CENTER", "LEFT", "LEFT", "LEFT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD"),
    ) as table:
        table.row(LINE_COLUMNS)
        for line_row in _line_rows(data):
            table.row(line_row)
    pdf.set_font("Receipt", "B", 10)
    pdf.cell(width - 40, 7, "Tổng cộng:", align="R")
    pdf.cell(40, 7, format_amount(data.total), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Receipt", "", 10)
    pdf.multi_cell(width, 6, f"Số tiền bằng chữ: {amount_in_words(data.total)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Receipt", "B", 10)
    pdf.multi_cell(width, 6, signature_status(verification), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Receipt", "", 9)
    pdf.multi_cell(width, 5, _lookup(data), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
