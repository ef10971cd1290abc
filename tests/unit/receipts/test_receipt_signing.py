"""Signed receipts: accepted by libxmlsec1 and by our verifier, and rejected by both after any change."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from adapters.vntime import VN_TZ, now_utc, to_vn
from receipts import (
    Failure,
    SchemaError,
    SigningKey,
    Verification,
    build,
    claimed_collector,
    generate_demo,
    issue,
    sign,
    validate,
    verify,
)
from receipts.codes import DSIG_NS, SIGNING_TIME_NS
from tests.support.receipt_strategies import receipts, sample_receipt, trusting

SIGNED_AT = datetime(2026, 11, 22, 8, 35, 40, tzinfo=VN_TZ)
DS = f"{{{DSIG_NS}}}"
Trust = dict[str, list[x509.Certificate]]




def xmlsec_verifies(document: bytes, cert_pem: bytes) -> bool:
    """libxmlsec1's verdict, trusting only the given certificate's key; unreadable XML is a rejection."""
    try:
        root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return False
    xmlsec.tree.add_ids(root, ["Id"])
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    if node is None:
        return False
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
    try:
        context.verify(node)
    except xmlsec.Error:
        return False
    return True


@pytest.fixture(scope="module")
def cert_pem(demo_pem: tuple[Path, Path]) -> bytes:
    return demo_pem[1].read_bytes()


@pytest.fixture(scope="module")
def trust(signing_key: SigningKey) -> Trust:
    """The demo key's certificate, trusted for the sample receipt's collector."""
    return trusting(signing_key)


@pytest.fixture(scope="module")
def signed(signing_key: SigningKey) -> bytes:
    return issue(sample_receipt(), signing_key, SIGNED_AT)


def test_signed_receipt_follows_the_profile(signed: bytes, signing_key: SigningKey) -> None:
    root = validate(signed)
    signature = root.find(f"DSCKS/NThu/{DS}Signature")
    assert signature is not None and signature.get("Id")
    signed_info = signature.find(f"{DS}SignedInfo")
    assert signed_info.find(f"{DS}CanonicalizationMethod").get("Algorithm") == (
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    )
    assert signed_info.find(f"{DS}SignatureMethod").get("Algorithm") == (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    first, second = signed_info.findall(f"{DS}Reference")
    assert first.get("URI") == "#" + root.find("DLBLai").get("Id")
    assert [t.get("Algorithm") for t in first.iter(f"{DS}Transform")] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    ]
    assert {d.get("Algorithm") for d in signed_info.iter(f"{DS}DigestMethod")} == {
        "http://www.w3.org/2001/04/xmlenc#sha256"
    }
    target = signature.find(f"{DS}Object[@Id='{second.get('URI')[1:]}']")
    prop = target.find(f"{DS}SignatureProperties/{DS}SignatureProperty")
    assert prop.get("Target") == "#" + signature.get("Id")
    assert prop.findtext(f"{{{SIGNING_TIME_NS}}}SigningTime") == "2026-11-22T08:35:40"
    assert signature.findtext(f"{DS}KeyInfo/{DS}X509Data/{DS}X509SubjectName") == signing_key.subject
    certificate = signature.findtext(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    assert x509.load_der_x509_certificate(__import__("base64").b64decode(certificate)) == signing_key.certificate


def test_libxmlsec1_and_our_verifier_accept_what_we_sign(signed: bytes, cert_pem: bytes,
                                                         signing_key: SigningKey) -> None:
    assert xmlsec_verifies(signed, cert_pem)
    outcome = verify(signed, trusted=trusting(signing_key))
    assert outcome.valid, outcome.reason
    assert outcome.subject == signing_key.subject
    assert outcome.signing_time == SIGNED_AT
    assert outcome.certificate_fingerprint == signing_key.fingerprint


def test_sign_of_built_document_equals_issue(signing_key: SigningKey, signed: bytes) -> None:
    assert sign(build(sample_receipt()), signing_key, SIGNED_AT) == signed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(receipts())
def test_any_valid_receipt_signs_and_verifies_independently(signing_key: SigningKey, cert_pem: bytes,
                                                            data) -> None:
    document = issue(data, signing_key, now_utc())
    assert xmlsec_verifies(document, cert_pem)
    assert verify(document, trusted=trusting(signing_key, data)).valid


def _data_span(document: bytes) -> tuple[int, int]:
    """Bytes of DLBLai's content and end tag: everything signed by the first reference but its start tag."""
    start = document.index(b"<DLBLai ")
    return document.index(b">", start) + 1, document.index(b"</DLBLai>") + len(b"</DLBLai>")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.floats(0, 1, exclude_max=True), value=st.integers(0, 255))
def test_changing_any_byte_of_the_signed_data_is_detected(trust: Trust, signed: bytes, cert_pem: bytes, position: float,
                                                          value: int) -> None:
    start, end = _data_span(signed)
    index = start + int(position * (end - start))
    replacement = bytes([value])
    if signed[index:index + 1] == replacement:
        replacement = bytes([value ^ 1])
    tampered = signed[:index] + replacement + signed[index + 1:]
    assert not xmlsec_verifies(tampered, cert_pem)
    assert not verify(tampered, trusted=trust).valid


@pytest.mark.parametrize("path", ["TTChung/SBLai", "NDBLai/NNop/Ten", "NDBLai/DSKhoan/Khoan/STien",
                                  "NDBLai/TgTien", "NDBLai/NThu/STKNHang"])
def test_changing_a_signed_value_is_detected(trust: Trust, signed: bytes, cert_pem: bytes, path: str) -> None:
    root = etree.fromstring(signed)
    node = root.find(f"DLBLai/{path}")
    node.text = node.text[:-1] + ("1" if node.text[-1] != "1" else "2")
    tampered = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert not xmlsec_verifies(tampered, cert_pem)
    outcome = verify(tampered, trusted=trust)
    assert not outcome.valid and "changed after signing" in outcome.reason
    assert outcome.failure is Failure.BROKEN


@pytest.mark.parametrize("new_time", ["2026-11-22T08:35:41", "2026-11-21T08:35:40", "2027-11-22T08:35:40"])
def test_changing_the_signing_time_is_detected(trust: Trust, signed: bytes, cert_pem: bytes, new_time: str) -> None:
    tampered = signed.replace(b"2026-11-22T08:35:40", new_time.encode())
    assert tampered != signed
    assert not xmlsec_verifies(tampered, cert_pem)
    assert not verify(tampered, trusted=trust).valid


def test_a_signature_moved_onto_other_data_is_refused(trust: Trust, signed: bytes, signing_key: SigningKey) -> None:
    other = issue(sample_receipt(number=43), signing_key, SIGNED_AT)
    ours = etree.fromstring(signed)
    theirs = etree.fromstring(other)
    ours.replace(ours.find("DLBLai"), theirs.find("DLBLai"))
    assert not verify(etree.tostring(ours), trusted=trust).valid


def test_a_second_element_with_the_signed_id_is_refused(trust: Trust, signed: bytes) -> None:
    root = etree.fromstring(signed)
    decoy = etree.fromstring(etree.tostring(root.find("DLBLai")))
    root.find(f"DSCKS/NThu/{DS}Signature/{DS}Object").append(decoy)
    outcome = verify(etree.tostring(root), trusted=trust)
    assert not outcome.valid


def test_extra_namespace_in_scope_is_refused(trust: Trust, signed: bytes) -> None:
    tampered = signed.replace(b"<BLai>", b'<BLai xmlns:x="urn:x">')
    outcome = verify(tampered, trusted=trust)
    assert not outcome.valid and "namespace" in outcome.reason


@pytest.mark.parametrize("document", [b"", b"<BLai/>", b"<x>"])
def test_verify_reports_unreadable_or_unsigned_input(document: bytes, signing_key: SigningKey) -> None:
    trusted = trusting(signing_key)
    assert verify(document, trusted=trusted).failure is Failure.UNREADABLE
    unsigned = verify(build(sample_receipt()), trusted=trusted)
    assert unsigned.failure is Failure.UNSIGNED and "not signed" in unsigned.reason


def test_a_signed_receipt_is_not_signed_again(signed: bytes, signing_key: SigningKey) -> None:
    with pytest.raises(SchemaError, match="already signed"):
        sign(signed, signing_key, SIGNED_AT)


def test_signing_outside_the_certificate_validity_is_refused(signing_key: SigningKey) -> None:
    too_late = signing_key.certificate.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(Exception, match="expired"):
        issue(sample_receipt(issued_at=to_vn(too_late), series=f"{to_vn(too_late).year % 100:02d}T"),
              signing_key, too_late)


# ---------------------------------------------------------------- trust: what the document brings proves nothing


def _impostor(signing_key: SigningKey) -> SigningKey:
    """A fresh key whose self-signed certificate bears exactly the real one's name."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    names = {a.oid._name: a.value for a in signing_key.certificate.subject}
    key_pem, cert_pem = generate_demo(
        str(names["commonName"]), str(names["organizationName"]), 365 * 30, not_before=SIGNED_AT - timedelta(days=365)
    )
    return SigningKey(load_pem_private_key(key_pem, None), x509.load_pem_x509_certificate(cert_pem))


def test_a_receipt_signed_with_a_certificate_the_collector_does_not_hold_is_refused(
    signing_key: SigningKey, trust: Trust
) -> None:
    impostor = _impostor(signing_key)
    assert impostor.subject == signing_key.subject
    forged = issue(sample_receipt(), impostor, SIGNED_AT)
    assert xmlsec_verifies(forged, impostor.certificate.public_bytes(Encoding.PEM)), "a well-made forgery"
    for trusted in (trust, {}, {"0109999999": [impostor.certificate]}):
        outcome = verify(forged, trusted=trusted)
        assert not outcome.valid and outcome.failure is Failure.UNTRUSTED
        assert not outcome.lookup_code and not outcome.data_digest, "nothing signed is vouched for"


def test_a_certificate_is_trusted_only_for_its_own_collector(signed: bytes, signing_key: SigningKey) -> None:
    outcome = verify(signed, trusted={"0109999999": [signing_key.certificate]})
    assert outcome.failure is Failure.UNTRUSTED


def test_every_certificate_a_collector_held_verifies_what_it_signed(signed: bytes, signing_key: SigningKey) -> None:
    renewed = _impostor(signing_key)  # the agency's next certificate, after renewal
    collector = sample_receipt().collector.tax_code
    trusted = {collector: [renewed.certificate, signing_key.certificate]}
    assert verify(signed, trusted=trusted).valid
    assert verify(issue(sample_receipt(number=43), renewed, SIGNED_AT), trusted=trusted).valid


class _Backdating(SigningKey):
    def check_valid_at(self, moment: datetime) -> None:
        return None


def test_a_signing_time_outside_the_certificate_validity_is_refused(signing_key: SigningKey, trust: Trust) -> None:
    backdating = _Backdating(signing_key.private_key, signing_key.certificate, at=SIGNED_AT)
    too_early = signing_key.certificate.not_valid_before_utc - timedelta(days=1)
    outcome = verify(issue(sample_receipt(), backdating, too_early), trusted=trust)
    assert not outcome.valid and outcome.failure is Failure.NOT_VALID_AT_SIGNING


def test_a_valid_receipt_vouches_for_its_signed_facts(signed: bytes, signing_key: SigningKey, trust: Trust) -> None:
    outcome = verify(signed, trusted=trust)
    data = sample_receipt()
    assert outcome.lookup_code == data.lookup_code and outcome.collector_tax_code == data.collector.tax_code
    again = verify(issue(data, signing_key, SIGNED_AT + timedelta(hours=1)), trusted=trust)
    assert again.data_digest == outcome.data_digest, "the same data signed at another time is the same receipt"
    other = verify(issue(sample_receipt(number=43), signing_key, SIGNED_AT), trusted=trust)
    assert other.data_digest != outcome.data_digest


def test_every_failure_is_explained_in_vietnamese() -> None:
    for failure in Failure:
        explanation = Verification(False, failure=failure).explanation
        assert explanation and not explanation.isascii()


def test_the_claimed_collector_is_read_without_trusting_it(signed: bytes) -> None:
    assert claimed_collector(signed) == sample_receipt().collector.tax_code
    assert claimed_collector(b"<x") == "" and claimed_collector(b"<BLai/>") == ""
