"""Every code, symbol, limit and algorithm name of the e-receipt, in one place.

The XSD in ``schema/receipt.xsd`` repeats the limits because XSD cannot import Python; the tests check that
data at these limits is valid against it.
"""

from __future__ import annotations

import re
from enum import IntEnum

# ---------------------------------------------------------------- the receipt itself

FORMAT_VERSION = "1.0.0"  # PBan: version of our receipt format
TITLE = "Biên lai thu phí, lệ phí"  # THDon
CURRENCY = "VND"  # DVTTe: money is whole đồng

TEMPLATES = ("EBL01", "EBL02")  # KHMSBLai: EBL01 without face value, EBL02 with
SERIES_PATTERN = re.compile(r"[0-9]{2}T")  # KHBLai: last two digits of the year + T
MAX_NUMBER = 9_999_999  # SBLai: up to 7 digits, restarting from 1 each year
MAX_AMOUNT = 999_999_999_999_999  # any line or total, in đồng
MAX_LINES = 100

# Tax codes: 10 digits, 10 digits + "-" + 3 digits for a branch, or a person's 12-digit identity number.
TAX_CODE_PATTERN = re.compile(r"[0-9]{10}(-[0-9]{3})?|[0-9]{12}")
ID_NUMBER_PATTERN = re.compile(r"[0-9A-Za-z]{6,20}")  # identity card, citizen id or passport
# A lookup address: http(s), a host name, then RFC 3986 characters only, every % starting an escape
# (the schema's anyURI insists).
URL_PATTERN = re.compile(
    r"https?://[A-Za-z0-9][A-Za-z0-9.\-]*(?::[0-9]{1,5})?"
    r"(?:[/?#](?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)?"
)
TREASURY_ACCOUNT_PATTERN = re.compile(r"[0-9A-Za-z.\-]{1,30}")

# Maximum lengths of the free-text fields, in characters.
MAX_NAME = 400
MAX_ADDRESS = 400
MAX_CODE = 50
MAX_LINE_NAME = 500
MAX_PAYMENT_METHOD = 50
MAX_LOOKUP_CODE = 50
MAX_URL = 500
MAX_QR = 500

# Characters refused in any text: XML 1.0 cannot carry most controls, and none belongs in a receipt. Written as
# regex escapes so that other checks (the gateway's API schema) can build their patterns from the same class.
REFUSED_CHARS = r"\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff"
NOT_XML_TEXT = re.compile(f"[{REFUSED_CHARS}]")


class LineKind(IntEnum):
    """LKhoan: what a line collects."""

    FEE = 1  # phí
    CHARGE = 2  # lệ phí


LINE_KIND_NAMES = {LineKind.FEE: "Phí", LineKind.CHARGE: "Lệ phí"}


class RelatedKind(IntEnum):
    """TCBLai: how a receipt relates to the one it follows up."""

    REPLACE = 1
    ADJUST = 2


RELATED_KIND_NAMES = {RelatedKind.REPLACE: "Thay thế", RelatedKind.ADJUST: "Điều chỉnh"}

# HTTToan: the usual ways a fee reaches the agency.
PAYMENT_ONLINE = "Thanh toán trực tuyến"
PAYMENT_COD = "Thu hộ qua bưu chính"

# ---------------------------------------------------------------- the signature profile

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

# SigningTime sits in its own namespace, as e-invoice signing tools write it: the XML Signature schema
# admits only elements of other namespaces inside SignatureProperty.
SIGNING_TIME_NS = "http://example.org/#signatureProperties"

DATA_ID = "data"  # DLBLai/@Id
SIGNATURE_ID = "signature-nthu"  # the collecting organisation's ds:Signature/@Id
SIGNING_TIME_ID = "signing-time-nthu"  # ds:Object/@Id carrying SigningTime

MIN_RSA_BITS = 2048
