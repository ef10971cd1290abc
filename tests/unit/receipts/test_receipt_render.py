"""The renderings: Vietnamese that survives into the PDF's text, the lookup QR code, and escaped HTML."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import lxml.html
import pypdf
import pytest
import segno

from receipts import Line, Payer, Related, SigningKey, issue, to_html, to_pdf, verify
from tests.support.receipt_strategies import COLLECTOR_NAME, LINE_NAME, PAYER_NAME, sample_receipt, trusting

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def pdf(signing_key: SigningKey) -> pypdf.PdfReader:
    data = sample_receipt(related=Related(1, "EBL01", "26T", 41, date(2026, 11, 21)))
    return pypdf.PdfReader(io.BytesIO(to_pdf(data, verify(issue(data, signing_key), trusted=trusting(signing_key)))))


def test_pdf_text_carries_the_vietnamese_names_exactly(pdf: pypdf.PdfReader) -> None:
    text = "\n".join(page.extract_text() for page in pdf.pages)
    for expected in (COLLECTOR_NAME, PAYER_NAME, LINE_NAME, "BIÊN LAI THU PHÍ, LỆ PHÍ",
                     "Một trăm năm mươi nghìn đồng", "150.000", "Số: 0000042", "Ngày 22 tháng 11 năm 2026",
                     "Thay thế cho biên lai mẫu số EBL01, ký hiệu 26T, số 0000041",
                     "Chữ ký số: hợp lệ, ký bởi CN=Demo ký biên lai"):
        assert expected in text


def test_pdf_embeds_its_fonts(pdf: pypdf.PdfReader) -> None:
    fonts = pdf.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        for descendant in ref.get_object().get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            embedded.append("/FontFile2" in descriptor)
    assert embedded and all(embedded)


def test_pdf_qr_code_encodes_the_lookup_url(pdf: pypdf.PdfReader) -> None:
    (image,) = pdf.pages[0].images
    picture = image.image.convert("L")
    expected = segno.make(sample_receipt().lookup_url, error="m")
    modules = len(expected.matrix)
    scale = picture.width // (modules + 4)  # two quiet modules on each side
    assert picture.width == picture.height == scale * (modules + 4)
    seen = [
        [picture.getpixel(((2 + col) * scale + scale // 2, (2 + row) * scale + scale // 2)) < 128
         for col in range(modules)]
        for row in range(modules)
    ]
    assert seen == [[bool(cell) for cell in row] for row in expected.matrix]


def test_pdf_font_path_can_be_overridden_and_a_missing_font_is_explained(tmp_path: Path) -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf")
    document = to_pdf(sample_receipt(), font=dejavu, bold_font=dejavu)
    assert PAYER_NAME in pypdf.PdfReader(io.BytesIO(document)).pages[0].extract_text()
    with pytest.raises(FileNotFoundError, match="fonts-dejavu-core"):
        to_pdf(sample_receipt(), font=tmp_path / "none.ttf")


def test_html_shows_the_receipt(signing_key: SigningKey) -> None:
    data = sample_receipt()
    page = to_html(data, verify(issue(data, signing_key), trusted=trusting(signing_key)))
    tree = lxml.html.fromstring(page)
    text = tree.text_content()
    for expected in ("BIÊN LAI THU PHÍ, LỆ PHÍ", COLLECTOR_NAME, PAYER_NAME, LINE_NAME, "150.000",
                     "Một trăm năm mươi nghìn đồng", "Chữ ký số: hợp lệ", data.lookup_code):
        assert expected in text
    assert len(tree.xpath("//tbody/tr")) == 2
    assert tree.xpath("//svg")  # the QR code, inline


def test_html_without_verification_does_not_claim_a_signature() -> None:
    text = lxml.html.fromstring(to_html(sample_receipt())).text_content()
    assert "chưa được kiểm tra" in text and "hợp lệ" not in text


def test_html_escapes_hostile_input() -> None:
    data = sample_receipt(payer=Payer(HOSTILE, address=HOSTILE), lines=[Line(1, "X&Y", HOSTILE, 1000)],
                          dossier_code='"><b>')
    page = to_html(data)
    assert "<script" not in page and "<img" not in page and '"><b>' not in page
    tree = lxml.html.fromstring(page)
    assert not tree.xpath("//script|//img|//b")
    assert tree.text_content().count(HOSTILE) == 3


def test_a_masked_rendering_shows_only_the_end_of_the_id_number(signing_key: SigningKey) -> None:
    data = sample_receipt()
    assert data.payer.id_number == "001190012345"
    page = lxml.html.fromstring(to_html(data, masked=True)).text_content()
    text = pypdf.PdfReader(io.BytesIO(to_pdf(data, masked=True))).pages[0].extract_text()
    for rendering in (page, text):
        assert "********2345" in rendering and "001190012345" not in rendering
    assert "001190012345" in lxml.html.fromstring(to_html(data)).text_content()


def test_a_failed_check_is_explained_in_vietnamese(signing_key: SigningKey) -> None:
    """The reason shown to people is the failed check's Vietnamese sentence, never the verifier's English."""
    data = sample_receipt()
    signed = issue(data, signing_key)
    for verification in (
        verify(signed.replace(b"<TgTien>150000<", b"<TgTien>150001<"), trusted=trusting(signing_key)),
        verify(signed, trusted={}),
    ):
        assert not verification.valid and verification.reason
        page = lxml.html.fromstring(to_html(data, verification)).text_content()
        text = pypdf.PdfReader(io.BytesIO(to_pdf(data, verification))).pages[0].extract_text()
        for rendering in (page, text):
            assert f"KHÔNG HỢP LỆ ({verification.explanation})" in " ".join(rendering.split())
            assert verification.reason not in rendering
