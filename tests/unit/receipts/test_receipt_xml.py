"""The receipt document: its shape, its schema validity for any valid data, and hardened parsing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from lxml import etree

from receipts import Line, Payer, Related, SchemaError, build, parse, validate
from receipts.schema import XSD_PATH
from tests.support.receipt_strategies import PAYER_NAME, receipts, sample_receipt


@pytest.fixture(scope="module")
def independent_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD_PATH))


def test_built_receipt_has_the_expected_content() -> None:
    root = parse(build(sample_receipt(related=Related(1, "EBL01", "26T", 41, date(2026, 11, 21)))))
    assert root.tag == "BLai"
    assert [child.tag for child in root] == ["DLBLai", "DLQRCode", "DSCKS"]
    assert root.find("DLBLai").get("Id") == "data"
    assert root.findtext("DLBLai/TTChung/THDon") == "Biên lai thu phí, lệ phí"
    assert root.findtext("DLBLai/TTChung/KHMSBLai") == "EBL01"
    assert root.findtext("DLBLai/TTChung/KHBLai") == "26T"
    assert root.findtext("DLBLai/TTChung/SBLai") == "42"
    assert root.findtext("DLBLai/TTChung/NLap") == "2026-11-22"
    assert root.findtext("DLBLai/TTChung/TTBLLQuan/NLBLCLQuan") == "2026-11-21"
    assert root.findtext("DLBLai/NDBLai/NNop/Ten") == PAYER_NAME
    assert [k.findtext("STien") for k in root.iterfind("DLBLai/NDBLai/DSKhoan/Khoan")] == ["100000", "50000"]
    assert [k.findtext("STT") for k in root.iterfind("DLBLai/NDBLai/DSKhoan/Khoan")] == ["1", "2"]
    assert root.findtext("DLBLai/NDBLai/TgTien") == "150000"
    assert root.findtext("DLBLai/NDBLai/TgTienBChu") == "Một trăm năm mươi nghìn đồng"
    assert root.findtext("DLBLai/NDBLai/TTKhac/MGDich") == "HUB20261122000123"
    assert root.findtext("DLQRCode") == "https://tracuu.dvc.example.vn/bien-lai/HK26T0000042"


def test_optional_empty_elements_are_left_out_and_no_whitespace_between_tags() -> None:
    document = build(sample_receipt(payer=Payer(PAYER_NAME), dossier_code="", procedure_code="",
                                    transaction_id=""))
    root = parse(document)
    assert [child.tag for child in root.find("DLBLai/NDBLai/NNop")] == ["Ten"]
    assert root.find("DLBLai/NDBLai/TTKhac") is None
    assert root.find("DLBLai/TTChung/TTBLLQuan") is None
    assert all(node.tail is None for node in root.iter())
    assert all(node.text is None or node.text.strip() for node in root.iter())


def test_text_is_escaped() -> None:
    hostile = 'A & B <Ten>x</Ten> "q" \'s\' ]]>'
    root = parse(build(sample_receipt(payer=Payer(hostile))))
    assert root.findtext("DLBLai/NDBLai/NNop/Ten") == hostile
    validate(root)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(receipts())
def test_every_valid_receipt_builds_a_schema_valid_document(data) -> None:
    document = build(data)
    validate(document)
    root = parse(document)
    assert int(root.findtext("DLBLai/NDBLai/TgTien")) == sum(line.amount for line in data.lines)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(receipts())
def test_the_independent_validator_agrees(independent_schema: xmlschema.XMLSchema, data) -> None:
    independent_schema.validate(build(data).decode())


def test_data_at_every_limit_is_schema_valid(independent_schema: xmlschema.XMLSchema) -> None:
    line = Line(2, "C" * 50, "Tên " * 125, 9_999_999_999_999)
    data = sample_receipt(
        number=9_999_999,
        payer=Payer("N" * 400, id_number="A" * 20, tax_code="0101234567-001", address="Đ" * 400),
        lines=[line] * 100,
        payment_method="P" * 50,
        lookup_code="L" * 50,
        lookup_url="https://tracuu.example.vn/" + "a" * 474,
        dossier_code="D" * 50,
    )
    document = build(data)
    validate(document)
    independent_schema.validate(document.decode())


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("DLBLai/NDBLai/TgTien", "missing"),
        ("DLBLai/TTChung/SBLai", "zero"),
        ("DLBLai/NDBLai/DSKhoan/Khoan/LKhoan", "three"),
    ],
)
def test_schema_refuses_a_broken_receipt(path: str, problem: str) -> None:
    root = parse(build(sample_receipt()))
    node = root.find(path)
    if problem == "missing":
        node.getparent().remove(node)
    else:
        node.text = {"zero": "0", "three": "3"}[problem]
    with pytest.raises(SchemaError, match="does not follow the schema"):
        validate(root)
    with pytest.raises(SchemaError):
        validate(etree.tostring(root))


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE BLai [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<BLai><DLBLai Id="data">&secret;</DLBLai></BLai>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<BLai>&d;&d;&d;&d;&d;&d;&d;&d;</BLai>"""

REMOTE_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE BLai SYSTEM "http://127.0.0.1:9/receipt.dtd"><BLai/>"""


@pytest.mark.parametrize("document", [XXE, LAUGHS, REMOTE_DTD], ids=["external-entity", "laughs", "dtd"])
def test_document_type_declarations_are_refused_unresolved(document: bytes) -> None:
    with pytest.raises(SchemaError) as refused:
        parse(document)
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd ever read


def test_external_entity_is_never_expanded_by_the_parser() -> None:
    from receipts.schema import _parser

    root = etree.fromstring(XXE, _parser())
    assert "root:" not in etree.tostring(root).decode()


@pytest.mark.parametrize("document", [b"", b"<BLai>", b"not xml", "<BLai/>"])
def test_unreadable_input_is_refused(document: object) -> None:
    with pytest.raises(SchemaError):
        parse(document)  # type: ignore[arg-type]


def test_threads_validate_at_once_with_the_verdict_each_alone_gets() -> None:
    """Receipts are built and validated in the signing threads: validations running at the same moment in several
    threads each give the verdict the document gets alone (a valid receipt passes; a broken one is refused for
    its own fault), never an internal error of the validator."""
    good = build(sample_receipt())
    root = parse(good)
    root.find("DLBLai/TTChung/SBLai").text = "0"
    broken = etree.tostring(root)

    def verdicts(n: int) -> list[str]:
        seen = []
        for i in range(300):
            try:
                validate(parse(broken if (n + i) % 3 == 0 else good))
                seen.append("valid")
            except SchemaError as refused:
                seen.append("SBLai" if "SBLai" in str(refused) else f"other: {refused}")
        return seen

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(verdicts, range(8)))

    for n, seen in enumerate(results):
        assert seen == ["SBLai" if (n + i) % 3 == 0 else "valid" for i in range(300)]
