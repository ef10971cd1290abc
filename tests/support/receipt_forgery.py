"""Making receipts the gateway did not issue, as an attacker (or a misused key) would: with the receipts library."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree

from adapters.vntime import now_utc
from receipts import SigningKey, amount_in_words, generate_demo, sign


def impostor_key(subject_of: bytes) -> SigningKey:
    """A fresh key with a self-signed certificate whose subject copies the one ``subject_of`` (a signed receipt)
    carries: the agency's name, word for word."""
    real = signer_certificate(subject_of)
    names = {a.oid._name: a.value for a in real.subject}
    key_pem, cert_pem = generate_demo(str(names["commonName"]), str(names["organizationName"]))
    certificate = x509.load_pem_x509_certificate(cert_pem)
    assert certificate.subject == real.subject and certificate != real
    return SigningKey(load_pem_private_key(key_pem, None), certificate)


def signer_certificate(document: bytes) -> x509.Certificate:
    import base64

    root = etree.fromstring(document)
    text = root.findtext(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate") or ""
    return x509.load_der_x509_certificate(base64.b64decode(text))


def resign(
    document: bytes, key: SigningKey, changes: dict[str, str] | None = None, at: datetime | None = None
) -> bytes:
    """``document`` with its signature taken off, the DLBLai elements at the paths of ``changes`` given new text,
    and signed again with ``key``."""
    root = etree.fromstring(document)
    slot = root.find("DSCKS/NThu")
    assert slot is not None
    for child in list(slot):
        slot.remove(child)
    for path, text in (changes or {}).items():
        node = root.find(f"DLBLai/{path}")
        assert node is not None, path
        node.text = text
    return sign(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), key, at or now_utc())


def amount_changed(total: int, first_line: int) -> dict[str, str]:
    """The changes that make a receipt state another amount, consistently: first line, total, total in words."""
    return {
        "NDBLai/DSKhoan/Khoan/STien": str(first_line),
        "NDBLai/TgTien": str(total),
        "NDBLai/TgTienBChu": amount_in_words(total),
    }
