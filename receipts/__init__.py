"""The e-receipt (biên lai thu phí, lệ phí điện tử) as a library: no web, no database.

Typical use: load the agency's ``SigningKey`` once at start, then for each paid payment make a ``ReceiptData``
and ``issue`` it (build, check against the XSD, sign). ``verify`` checks a signed receipt against the
certificates each collector holds or held (``Trusted``: what the caller keeps, never what the document brings);
``to_html`` and ``to_pdf`` render one for people.
"""

from .codes import PAYMENT_COD, PAYMENT_ONLINE, LineKind, RelatedKind
from .errors import ReceiptError, SchemaError, SigningKeyError
from .issuance import issue
from .keys import SigningKey, generate_demo, write_pkcs12
from .model import Line, Organisation, Payer, ReceiptData, Related
from .render import to_html, to_pdf
from .schema import parse, validate
from .signing import Failure, Trusted, Verification, claimed_collector, sign, verify
from .words import amount_in_words
from .xml import build, qr_content

__all__ = [
    "PAYMENT_COD",
    "PAYMENT_ONLINE",
    "Failure",
    "Line",
    "LineKind",
    "Organisation",
    "Payer",
    "ReceiptData",
    "ReceiptError",
    "Related",
    "RelatedKind",
    "SchemaError",
    "SigningKey",
    "SigningKeyError",
    "Trusted",
    "Verification",
    "amount_in_words",
    "build",
    "claimed_collector",
    "generate_demo",
    "issue",
    "parse",
    "qr_content",
    "sign",
    "to_html",
    "to_pdf",
    "validate",
    "verify",
    "write_pkcs12",
]
