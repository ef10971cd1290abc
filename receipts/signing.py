"""Signing and verifying receipts with the tax authority's XML signature profile, built directly on lxml.

The profile: an enveloped W3C XML Signature (no XAdES) in ``DSCKS/NThu``, RSA-SHA256 over inclusive C14N 1.0,
with two references: the business data ``DLBLai`` (enveloped-signature and C14N transforms) and an ``Object``
whose ``SignatureProperty`` carries the ``SigningTime``. ``KeyInfo`` names the signer and carries the
certificate. Building it here rather than through a general XML-signature library keeps the cost of a receipt
close to the cost of its RSA signature; libxmlsec1 verifies what we sign in the tests.

Verifying needs the certificates each collector holds or held (``Trusted``): the certificate a document carries
is only used once it is found among those, so a receipt re-signed with any other certificate, whatever name it
bears, is not a valid receipt.
"""

from __future__ import annotations

import base64
import binascii
import copy
import enum
import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from datetime import datetime

import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from adapters.vntime import format_local, parse_local

from . import codes
from .errors import SchemaError, SigningKeyError
from .keys import SigningKey, check_validity
from .schema import parse, validate

_DS = f"{{{codes.DSIG_NS}}}"
_NSMAP = {None: codes.DSIG_NS}
_TIME_NSMAP = {None: codes.SIGNING_TIME_NS}
_NS = {"ds": codes.DSIG_NS, "st": codes.SIGNING_TIME_NS}
_ST = f"{{{codes.SIGNING_TIME_NS}}}"
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


# The certificates each collector holds or has held, by the collector's tax code (``NThu/MST``): what we keep,
# never what a document brings.
Trusted = Mapping[str, Collection[x509.Certificate]]


class Failure(enum.StrEnum):
    """Which check a receipt failed, in the order they are made."""

    UNREADABLE = "unreadable"  # not XML, or not a receipt by the schema
    UNSIGNED = "unsigned"
    BROKEN = "broken"  # the signature does not verify, or the signed data was changed
    UNTRUSTED = "untrusted"  # signed with a certificate the collector does not hold
    NOT_VALID_AT_SIGNING = "not_valid_at_signing"  # the collector's certificate was not valid at the signing time


# What a citizen is told: plain Vietnamese, one sentence per failed check.
FAILURE_TEXT = {
    Failure.UNREADABLE: "tệp không phải là biên lai điện tử đúng định dạng",
    Failure.UNSIGNED: "biên lai chưa được ký số",
    Failure.BROKEN: "chữ ký số không đúng: nội dung biên lai đã bị thay đổi sau khi ký hoặc chữ ký bị hỏng",
    Failure.UNTRUSTED: (
        "biên lai không được ký bằng chứng thư số của đơn vị thu mà hệ thống lưu giữ, dù chứng thư có thể mang tên "
        "đơn vị thu"
    ),
    Failure.NOT_VALID_AT_SIGNING: "chứng thư số của đơn vị thu không có hiệu lực tại thời điểm ký",
}


class Verification(msgspec.Struct, frozen=True):
    """The outcome of checking a signed receipt. ``valid`` means intact, signed with a certificate its collector
    holds or held, within that certificate's validity; otherwise ``failure`` says which check failed, ``reason``
    (English, for logs) how. The signed facts are filled in only for a valid receipt."""

    valid: bool
    failure: Failure | None = None
    reason: str = ""
    subject: str = ""
    signing_time: datetime | None = None
    certificate_fingerprint: str = ""  # SHA-256 of the signing certificate, hex
    collector_tax_code: str = ""
    lookup_code: str = ""
    data_digest: str = ""  # SHA-256 (base64) of the signed business data, DLBLai: equal digests, equal receipts

    @property
    def explanation(self) -> str:
        """The failed check in Vietnamese, for people; empty when valid."""
        return FAILURE_TEXT[self.failure] if self.failure is not None else ""


def _canonical(node: etree._Element) -> bytes:
    """Inclusive C14N 1.0 of one element and its descendants.

    lxml canonicalises an element nested under a default namespace wrongly (it writes ``xmlns=""`` on its
    grandchildren), so such an element is first copied out as the root of its own document; the copy keeps
    the namespaces in use, which in a receipt are all the namespaces in scope (``verify`` refuses any other).
    """
    if None in node.nsmap:
        node = copy.deepcopy(node)
    return etree.tostring(node, method="c14n", exclusive=False, with_comments=False)


def _digest(node: etree._Element) -> str:
    return base64.b64encode(hashlib.sha256(_canonical(node)).digest()).decode("ascii")


# The signed parts are written directly in their canonical form (inclusive C14N 1.0: no empty-element tags,
# the namespace declared on the apex element), which is both what is hashed and, minus that declaration, what
# the document carries; canonicalising them through lxml again would only cost time. ``verify`` and the
# tests' independent verifier canonicalise them from the document and must agree.
_SIGNED_INFO = (
    "<SignedInfo{ns}>"
    f'<CanonicalizationMethod Algorithm="{codes.C14N}"></CanonicalizationMethod>'
    f'<SignatureMethod Algorithm="{codes.RSA_SHA256}"></SignatureMethod>'
    '<Reference URI="#{data_id}"><Transforms>'
    f'<Transform Algorithm="{codes.ENVELOPED}"></Transform><Transform Algorithm="{codes.C14N}"></Transform>'
    f'</Transforms><DigestMethod Algorithm="{codes.SHA256}"></DigestMethod>'
    "<DigestValue>{data_digest}</DigestValue></Reference>"
    f'<Reference URI="#{codes.SIGNING_TIME_ID}"><DigestMethod Algorithm="{codes.SHA256}"></DigestMethod>'
    "<DigestValue>{time_digest}</DigestValue></Reference>"
    "</SignedInfo>"
)
_SIGNING_TIME = (
    f'<Object{{ns}} Id="{codes.SIGNING_TIME_ID}"><SignatureProperties>'
    f'<SignatureProperty Target="#{codes.SIGNATURE_ID}">'
    f'<SigningTime xmlns="{codes.SIGNING_TIME_NS}">{{time}}</SigningTime>'
    "</SignatureProperty></SignatureProperties></Object>"
)
_SIGNATURE = (
    f'<Signature xmlns="{codes.DSIG_NS}" Id="{codes.SIGNATURE_ID}">{{signed_info}}'
    "<SignatureValue>{value}</SignatureValue>"
    "{key_info}{signing_time}</Signature>"
)
_DECLARED = f' xmlns="{codes.DSIG_NS}"'
_UNSIGNED_END = b"<DSCKS><NThu/></DSCKS></BLai>"


def _hash64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def sign_tree(root: etree._Element, key: SigningKey, signing_time: datetime) -> bytes:
    """The signed document for an unsigned receipt tree: ``DSCKS/NThu`` receives the collector's signature."""
    key.check_valid_at(signing_time)
    body, slot = root[0] if len(root) else None, root[-1][0] if len(root) and len(root[-1]) else None
    if body is None or slot is None or (root.tag, body.tag, slot.getparent().tag, slot.tag) != (
        "BLai", "DLBLai", "DSCKS", "NThu"
    ):
        raise SchemaError("not a receipt: BLai with DLBLai first and DSCKS/NThu last is required")
    if len(slot) or slot.text:
        raise SchemaError("the receipt is already signed")
    data_id = body.get("Id", "")
    if not _NCNAME.fullmatch(data_id):
        raise SchemaError(f"DLBLai has no usable Id: {data_id!r}")
    if any(node.nsmap for node in (root, body)):
        raise SchemaError("a receipt declares no namespaces")

    time = format_local(signing_time)
    digests = {"data_id": data_id, "data_digest": _hash64(_canonical(body))}
    digests["time_digest"] = _hash64(_SIGNING_TIME.format(ns=_DECLARED, time=time).encode())
    canonical = _SIGNED_INFO.format(ns=_DECLARED, **digests).encode()
    value = key.private_key.sign(canonical, padding.PKCS1v15(), hashes.SHA256())
    signature = _SIGNATURE.format(
        signed_info=_SIGNED_INFO.format(ns="", **digests),
        value=base64.b64encode(value).decode("ascii"),
        key_info=key.key_info,
        signing_time=_SIGNING_TIME.format(ns="", time=time),
    )
    unsigned = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if not unsigned.endswith(_UNSIGNED_END):
        raise SchemaError("the receipt must end with an empty DSCKS/NThu")
    end = f"<DSCKS><NThu>{signature}</NThu></DSCKS></BLai>".encode()
    return unsigned[: -len(_UNSIGNED_END)] + end


def sign(xml: bytes, key: SigningKey, signing_time: datetime) -> bytes:
    """Sign an unsigned receipt document (as ``build`` returns it) and return the signed document."""
    return sign_tree(parse(xml), key, signing_time)


class _Invalid(Exception):
    def __init__(self, reason: str, failure: Failure = Failure.BROKEN) -> None:
        super().__init__(reason)
        self.failure = failure


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.findall(path, _NS)
    if len(found) != 1:
        raise _Invalid(f"expected exactly one {what}, found {len(found)}")
    return found[0]


def _algorithm(parent: etree._Element, path: str, expected: str) -> None:
    found = _one(parent, path, path.rsplit(":", 1)[-1]).get("Algorithm")
    if found != expected:
        raise _Invalid(f"{path.rsplit(':', 1)[-1]} {found!r} is not the profile's {expected!r}")


def _check_reference(reference: etree._Element, target: etree._Element, transforms: tuple[str, ...]) -> None:
    found = tuple(t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", _NS))
    if found != transforms:
        raise _Invalid(f"reference {reference.get('URI')} has transforms {found}, expected {transforms}")
    _algorithm(reference, "ds:DigestMethod", codes.SHA256)
    expected = _one(reference, "ds:DigestValue", "DigestValue").text or ""
    if not hmac.compare_digest(expected.strip(), _digest(target)):
        raise _Invalid(f"the data referenced by {reference.get('URI')} was changed after signing")


def _targets(root: etree._Element) -> dict[str, etree._Element]:
    """Elements by Id; a repeated Id is refused, as it is how signed data is swapped for unsigned data."""
    by_id: dict[str, etree._Element] = {}
    for node in root.iterfind(".//*[@Id]"):
        identifier = node.get("Id", "")
        if identifier in by_id:
            raise _Invalid(f"the Id {identifier!r} appears more than once")
        by_id[identifier] = node
    return by_id


def _certificate(signature: etree._Element) -> x509.Certificate:
    text = _one(signature, "ds:KeyInfo/ds:X509Data/ds:X509Certificate", "X509Certificate").text or ""
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error):
        raise _Invalid("the X509Certificate cannot be read") from None


def _check_namespaces(root: etree._Element) -> None:
    """Only the signature's own namespace may be declared, and no xml: attribute used: anything else in scope
    would enter an independent verifier's canonical form but not ours."""
    for node in root.iter(etree.Element):
        expected = _NSMAP if node.tag.startswith(_DS) else _TIME_NSMAP if node.tag.startswith(_ST) else {}
        if node.nsmap != expected:
            raise _Invalid(f"unexpected namespace declaration in scope at {etree.QName(node).localname}")
        if any(name.startswith("{http://www.w3.org/XML/1998/namespace}") for name in node.attrib):
            raise _Invalid("xml: attributes are not allowed in a receipt")


def _signed_parts(root: etree._Element) -> tuple[etree._Element, etree._Element, datetime]:
    """The signature, the business data and the signing time, once both references are checked."""
    _check_namespaces(root)
    signatures = root.findall(".//ds:Signature", _NS)
    signature = root.find("DSCKS/NThu/ds:Signature", _NS)
    if signature is None:
        raise _Invalid("the receipt is not signed", Failure.UNSIGNED)
    if len(signatures) != 1:
        raise _Invalid("a receipt carries exactly one signature")
    signed_info = _one(signature, "ds:SignedInfo", "SignedInfo")
    _algorithm(signed_info, "ds:CanonicalizationMethod", codes.C14N)
    _algorithm(signed_info, "ds:SignatureMethod", codes.RSA_SHA256)
    references = signed_info.findall("ds:Reference", _NS)
    if len(references) != 2:
        raise _Invalid(f"expected two references, found {len(references)}")

    by_id = _targets(root)
    body = _one(root, "DLBLai", "DLBLai")
    signed_object = _one(signature, "ds:Object", "Object")
    if by_id.get(references[0].get("URI", "")[1:]) is not body:
        raise _Invalid("the first reference does not point to DLBLai")
    if by_id.get(references[1].get("URI", "")[1:]) is not signed_object:
        raise _Invalid("the second reference does not point to the SigningTime object")
    _check_reference(references[0], body, (codes.ENVELOPED, codes.C14N))
    _check_reference(references[1], signed_object, ())

    prop = _one(signed_object, "ds:SignatureProperties/ds:SignatureProperty", "SignatureProperty")
    if prop.get("Target") != "#" + (signature.get("Id") or "\0"):
        raise _Invalid("the SignatureProperty does not target this signature")
    try:
        signing_time = parse_local((_one(prop, "st:SigningTime", "SigningTime").text or "").strip())
    except ValueError:
        raise _Invalid("the SigningTime is not YYYY-MM-DDThh:mm:ss") from None
    return signature, body, signing_time


def _check_value(signature: etree._Element, certificate: x509.Certificate) -> None:
    """The SignatureValue against the certificate's key (which says nothing yet about whose key it is)."""
    subject = certificate.subject.rfc4514_string()
    named = _one(signature, "ds:KeyInfo/ds:X509Data/ds:X509SubjectName", "X509SubjectName").text
    if named != subject:
        raise _Invalid("the X509SubjectName does not name the certificate's subject")
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or public.key_size < codes.MIN_RSA_BITS:
        raise _Invalid(f"the certificate's key is not RSA of at least {codes.MIN_RSA_BITS} bits")
    value = "".join((_one(signature, "ds:SignatureValue", "SignatureValue").text or "").split())
    canonical = _canonical(_one(signature, "ds:SignedInfo", "SignedInfo"))
    try:
        public.verify(base64.b64decode(value, validate=True), canonical, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise _Invalid("the signature value does not match the signed information") from None


def _check(root: etree._Element, trusted: Trusted) -> Verification:
    signature, body, signing_time = _signed_parts(root)
    certificate = _certificate(signature)
    _check_value(signature, certificate)
    collector = (body.findtext("NDBLai/NThu/MST") or "").strip()
    if certificate not in trusted.get(collector, ()):
        raise _Invalid(f"signed with a certificate that collector {collector!r} does not hold", Failure.UNTRUSTED)
    try:
        check_validity(certificate, signing_time)
    except SigningKeyError as error:
        raise _Invalid(f"signed outside the certificate's validity: {error}", Failure.NOT_VALID_AT_SIGNING) from None
    digest = signature.findtext("ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces=_NS) or ""  # DLBLai's
    return Verification(
        valid=True,
        subject=certificate.subject.rfc4514_string(),
        signing_time=signing_time,
        certificate_fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        collector_tax_code=collector,
        lookup_code=(body.findtext("TTChung/MTCuu") or "").strip(),
        data_digest=digest.strip(),
    )


def verify(xml: bytes, *, trusted: Trusted) -> Verification:
    """Check a signed receipt against the profile, its schema, its signature and ``trusted``, the certificates
    each collector holds or held; never raises on bad input.

    ``trusted`` is required: a signature counts only against a certificate the caller holds for the collector
    the receipt names, never against the one the document carries alone.
    """
    try:
        return _check(validate(xml), trusted)
    except SchemaError as error:
        return Verification(valid=False, failure=Failure.UNREADABLE, reason=str(error))
    except _Invalid as error:
        return Verification(valid=False, failure=error.failure, reason=str(error))


def claimed_collector(xml: bytes) -> str:
    """The collector's tax code as the document states it, unverified: only to choose whose certificates to pass
    to ``verify``, which decides. Empty when the document cannot be read."""
    try:
        return (parse(xml).findtext("DLBLai/NDBLai/NThu/MST") or "").strip()
    except SchemaError:
        return ""
