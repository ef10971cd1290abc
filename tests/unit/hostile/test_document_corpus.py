"""The hostile-input corpus (tests/support/hostile_corpus.py) against every reader of documents from outside:
receipt XML, the hub's callbacks and replies, the post's pushes, feed pages and COD statements, and signing keys in
PEM and PKCS#12. Each case is refused fast, with the reader's own error, without fetching anything or reading a file."""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

import receipts
from adapters.payhub import CallbackRejected, parse_confirm
from adapters.payhub import messages as hub_messages
from adapters.payhub.messages import ProtocolError
from adapters.payhub.sandbox import protocol
from adapters.postal import messages as post_messages
from adapters.postal import statements
from adapters.postal.errors import PostalProtocolError, PostalRejected
from receipts import SchemaError, SigningKeyError
from tests.support import hostile_corpus as corpus
from tests.unit.adapters.payhub.test_payhub_messages import KEY, PARTNER, paid_order
from tests.unit.adapters.postal.test_postal_messages import item, statement

FAST = 2.0  # seconds; the slowest honest refusal takes a few milliseconds


class Canary:
    """A loopback HTTP server that counts the requests a parser should never have made."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'<!ENTITY leak "fetched">')

            def log_message(self, *args: Any) -> None:
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    found = Canary()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.txt"
    path.write_text(f"secret-{secrets.token_hex(8)}")
    return path


def refused(read: Callable[[], Any], *errors: type[BaseException]) -> BaseException:
    """Run ``read``; it must raise one of ``errors`` within ``FAST`` seconds. Returns the error."""
    start = time.monotonic()
    with pytest.raises(errors) as caught:
        read()
    assert time.monotonic() - start < FAST, "refused, but slowly"
    return caught.value


# ---------------------------------------------------------------- receipt XML


def test_receipt_xml_readers_refuse_every_hostile_document(canary: Canary, secret_file: Path) -> None:
    secret = secret_file.read_text()
    for name, document in corpus.xml_documents(canary.url, str(secret_file)):
        error = refused(lambda d=document: receipts.validate(d), SchemaError)
        assert secret not in str(error), name
        start = time.monotonic()
        verdict = receipts.verify(document, trusted={})
        assert time.monotonic() - start < FAST, name
        assert not verdict.valid, name
        assert secret not in msgspec.json.encode(verdict).decode(), name
    assert canary.hits == []


def test_parsing_never_expands_or_fetches(canary: Canary, secret_file: Path) -> None:
    secret = secret_file.read_text()
    for name, document in corpus.xml_documents(canary.url, str(secret_file)):
        start = time.monotonic()
        try:
            tree = receipts.parse(document)
        except SchemaError as error:
            assert secret not in str(error), name
        else:
            from lxml import etree

            text = etree.tostring(tree)
            assert secret.encode() not in text and b"fetched" not in text and len(text) < 10_000_000, name
        assert time.monotonic() - start < FAST, name
    assert canary.hits == []


# ---------------------------------------------------------------- the hub


def confirm_body() -> dict[str, Any]:
    _, order = paid_order()
    return protocol.confirm(order, PARTNER, KEY)


# Money as a string of digits: the hub's spec asks readers to accept both forms of SoTien, and the post's adapter
# reads amounts the same way. These read as the valid message does.
TOLERATED = {"SoTien retyped", "codAmount retyped", "totalCod retyped", "totalFee retyped", "totalRemitted retyped"}


def hostile(valid: dict[str, Any], read: Callable[[bytes], Any]) -> list[tuple[str, bytes]]:
    """The corpus around ``valid``, less the tolerated cases (checked here to read exactly as ``valid``)."""
    cases = []
    expected = read(msgspec.json.encode(valid))
    for name, body in corpus.json_documents(valid):
        if name in TOLERATED:
            assert read(body) == expected, name
        else:
            cases.append((name, body))
    return cases


def test_hub_callbacks_refuse_every_hostile_body() -> None:
    for name, body in hostile(confirm_body(), lambda b: parse_confirm(b, PARTNER, KEY)):
        error = refused(lambda b=body: parse_confirm(b, PARTNER, KEY), CallbackRejected)
        assert error.reply.value != "00", name  # type: ignore[attr-defined]
        start = time.monotonic()
        assert isinstance(hub_messages.peek_reference(body), str)
        assert time.monotonic() - start < FAST, name


@pytest.mark.parametrize(
    "read",
    [
        lambda b: hub_messages.parse_init_reply(b, KEY),
        lambda b: hub_messages.parse_query_reply(b, "PG2511220000000001", KEY),
        lambda b: hub_messages.parse_refund_reply(b, "RF2511220000000001", KEY),
    ],
    ids=["init reply", "query reply", "refund reply"],
)
def test_hub_replies_refuse_every_hostile_body(read: Callable[[bytes], Any]) -> None:
    valid = {"MaLoi": "00", "MoTaLoi": "OK", "MaThamChieu": "PG2511220000000001", "MaXacThuc": "0" * 64}
    for name, body in corpus.json_documents(valid):
        refused(lambda b=body: read(b), ProtocolError, PostalRejected, CallbackRejected), name


# ---------------------------------------------------------------- the post


POST_ERRORS = (PostalProtocolError, PostalRejected)


def test_postal_pushes_refuse_every_hostile_body() -> None:
    for _name, body in hostile(item(5), post_messages.parse_event):
        refused(lambda b=body: post_messages.parse_event(b), *POST_ERRORS)


def test_postal_feed_pages_refuse_every_hostile_body() -> None:
    for _name, body in hostile(
        {"items": [item(5), item(6)], "lastId": 6}, lambda b: post_messages.parse_tracking_page(b, 4)
    ):
        refused(lambda b=body: post_messages.parse_tracking_page(b, 4), *POST_ERRORS)


def test_cod_statements_refuse_every_hostile_body() -> None:
    for _name, body in hostile(statement(), lambda b: statements.parse_cod_statement(b, date(2025, 8, 1))):
        refused(lambda b=body: statements.parse_cod_statement(b, date(2025, 8, 1)), *POST_ERRORS)


# ---------------------------------------------------------------- signing keys


@pytest.fixture(scope="module")
def good_pair() -> tuple[bytes, bytes]:
    return receipts.generate_demo("Kiểm thử", "UBND phường Hoàn Kiếm")


def test_pem_keys_refuse_every_hostile_file(tmp_path: Path, good_pair: tuple[bytes, bytes]) -> None:
    for n, (name, key, cert) in enumerate(corpus.pem_files(*good_pair)):
        key_path, cert_path = tmp_path / f"{n}.key.pem", tmp_path / f"{n}.cert.pem"
        key_path.write_bytes(key)
        cert_path.write_bytes(cert)
        error = refused(lambda k=key_path, c=cert_path: receipts.SigningKey.from_pem(k, c), SigningKeyError)
        assert str(error), name
    good = receipts.SigningKey.from_pem(*_written(tmp_path, "good", *good_pair))
    for name, key, cert in corpus.pem_tolerated(*good_pair):
        assert receipts.SigningKey.from_pem(*_written(tmp_path, name, key, cert)).fingerprint == good.fingerprint


def _written(folder: Path, name: str, key: bytes, cert: bytes) -> tuple[Path, Path]:
    (folder / f"{name}.key.pem").write_bytes(key)
    (folder / f"{name}.cert.pem").write_bytes(cert)
    return folder / f"{name}.key.pem", folder / f"{name}.cert.pem"


def test_pkcs12_keys_refuse_every_hostile_file(tmp_path: Path, good_pair: tuple[bytes, bytes]) -> None:
    good = tmp_path / "good.p12"
    receipts.write_pkcs12(good, *good_pair, "mật khẩu")
    for n, (name, data) in enumerate(corpus.pkcs12_files(good.read_bytes())):
        path = tmp_path / f"{n}.p12"
        path.write_bytes(data)
        error = refused(lambda p=path: receipts.SigningKey.from_pkcs12(p, "mật khẩu"), SigningKeyError)
        assert str(error), name
    refused(lambda: receipts.SigningKey.from_pkcs12(good, "sai mật khẩu"), SigningKeyError)
