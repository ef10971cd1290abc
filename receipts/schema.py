"""The receipt's XSD and the one safe way to read receipt XML.

The schema is compiled once per thread with libxml2 (tens of thousands of validations a second, against
about a thousand with a pure-Python validator), so validating every receipt before signing costs little.
Parsing never loads a DTD, resolves an entity or touches the network, and a document type declaration is
refused outright: receipts never carry one.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lxml import etree

from .errors import SchemaError

XSD_PATH = Path(__file__).parent / "schema" / "receipt.xsd"
MAX_DOCUMENT_BYTES = 2_000_000

_local = threading.local()
_compiling = threading.Lock()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread: lxml parsers must not be used by two threads at once."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
        )
        _local.parser = parser
    return parser


def parse(xml: bytes) -> etree._Element:
    """Read untrusted XML into a tree, or raise SchemaError saying why it cannot be read."""
    if not isinstance(xml, bytes):
        raise SchemaError("XML must be given as bytes")
    if len(xml) > MAX_DOCUMENT_BYTES:
        raise SchemaError(f"XML larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as error:
        raise SchemaError(f"not well-formed XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise SchemaError("a document type declaration is not allowed")
    return root


def xml_schema() -> etree.XMLSchema:
    """The compiled XSD of this thread. A compiled schema keeps its validation state and error log in itself, so
    two threads validating with one at the same moment get each other's errors or libxml2's "internal error":
    each thread compiles its own, once (a few milliseconds), one thread at a time: the signing threads compiling
    theirs at the same moment were seen to fail now and then with "Document is not valid XML Schema"."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        with _compiling:
            schema = etree.XMLSchema(etree.parse(str(XSD_PATH), _parser()))
        _local.schema = schema
    return schema


def validate(document: bytes | etree._Element) -> etree._Element:
    """Check a receipt against the XSD; return its tree, or raise SchemaError quoting the first violation."""
    root = parse(document) if isinstance(document, bytes) else document
    try:
        xml_schema().assertValid(root)
    except etree.DocumentInvalid as invalid:
        error = invalid.error_log.last_error
        raise SchemaError(f"receipt does not follow the schema: line {error.line}: {error.message}") from None
    return root
