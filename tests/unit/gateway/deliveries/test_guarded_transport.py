"""The guarded connection, on real sockets: each connection resolves, checks every address and connects to a
checked one (a name that turns into loopback between two deliveries is refused, not connected), the Host header
and the TLS server name stay the URL's, redirects are not followed, and no URL or host makes the sender raise.

Name resolution is the one seam: there is no DNS here, so a resolver stands in for it (``RESOLVER``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.deliveries import sender
from gateway.deliveries.addresses import Address, Kind, NetworkPolicy, kind, system_resolve
from gateway.deliveries.transport import WebhookHttp
from gateway.settings import load

SETTINGS = load({"PAYHUB_HASH_KEY": "unit", "WEBHOOK_TIMEOUT_SECONDS": "3", "WEBHOOK_CONNECT_TIMEOUT": "1"})
ALLOWED = "127.0.0.2"  # the one loopback address this policy counts as private (as the test stack does)
POLICY = NetworkPolicy(private_networks=(ipaddress.ip_network(f"{ALLOWED}/32"),))


@dataclass
class Names:
    """What each test name resolves to; anything else goes to the system's resolver."""

    table: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    everything: list[str] | None = None  # when set, every name resolves to these

    async def __call__(self, host: str, port: int) -> list[Address]:
        self.asked.append(host)
        found = self.everything if self.everything is not None else self.table.get(host)
        if found is not None:
            return [ipaddress.ip_address(a) for a in found]
        return await system_resolve(host, port)


@dataclass
class Server:
    """A one-answer-per-connection HTTP server that records what it saw."""

    host: str
    answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    tls: ssl.SSLContext | None = None
    port: int = 0
    connections: int = 0
    heads: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> Server:
        if self.tls is not None:
            self.tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)  # type: ignore[assignment,misc]
        self.server = await asyncio.start_server(self._serve, self.host, port, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            self.heads.append(head)
            length = next(
                (int(x.split(":")[1]) for x in head.split("\r\n") if x.lower().startswith("content-length")), 0
            )
            await reader.readexactly(length)
            writer.write(self.answer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    def host_header(self) -> str:
        line = next(x for x in self.heads[-1].split("\r\n") if x.lower().startswith("host:"))
        return line.split(":", 1)[1].strip()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def names() -> AsyncIterator[Names]:
    yield Names()


@pytest.fixture
async def http(names: Names) -> AsyncIterator[WebhookHttp]:
    client = WebhookHttp.build(SETTINGS, names, policy=POLICY)
    yield client
    await client.aclose()


async def post(client: WebhookHttp, url: str, allow_private: bool = True) -> sender.AttemptResult:
    return await sender.send(
        client.client(allow_private), url, ["whsec_t"], "evt_1", b"{}", timeout=3, max_response_bytes=65536
    )


async def test_a_name_that_turns_into_loopback_is_refused_at_the_next_connection(
    http: WebhookHttp, names: Names
) -> None:
    portal = await Server(ALLOWED).start()
    decoy = await Server("127.0.0.1").start(portal.port)  # same port, on the address the name will turn into
    try:
        names.table["hooks.portal.test"] = [ALLOWED]
        url = f"http://hooks.portal.test:{portal.port}/dvc"
        first = await post(http, url)
        assert first.ok and portal.connections == 1
        assert portal.host_header() == f"hooks.portal.test:{portal.port}"  # the URL's host, not the address

        names.table["hooks.portal.test"] = ["127.0.0.1"]  # the portal's DNS now answers loopback
        second = await post(http, url)
        assert (second.ok, second.status_code, second.error) == (False, None, "could not connect")
        assert "a loopback address" in second.detail  # for the operator's log only
        assert decoy.connections == 0 and portal.connections == 1
        assert names.asked == ["hooks.portal.test", "hooks.portal.test"]  # resolved once per connection

        names.table["hooks.portal.test"] = [ALLOWED]
        assert (await post(http, url, allow_private=False)).error == "could not connect"  # policy changed
        assert portal.connections == 1
    finally:
        await portal.stop()
        await decoy.stop()


async def test_a_redirect_is_an_answer_not_a_direction(http: WebhookHttp) -> None:
    decoy = await Server("127.0.0.1").start()
    location = f"http://127.0.0.1:{decoy.port}/".encode()
    portal = await Server(
        ALLOWED, answer=b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"
    ).start()
    try:
        result = await post(http, f"http://{ALLOWED}:{portal.port}/hooks")
        assert (result.ok, result.status_code, result.error) == (False, 302, "HTTP 302")
        assert decoy.connections == 0
    finally:
        await portal.stop()
        await decoy.stop()


def _certificates(tmp: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A private CA and a server certificate for ``name``: the server's TLS context and a client's that trusts
    only that CA."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


async def test_tls_names_and_checks_the_urls_host_while_connecting_to_the_checked_address(
    tmp_path: Path, names: Names
) -> None:
    server_tls, client_tls = _certificates(tmp_path, "hooks.portal.test")
    http = WebhookHttp.build(SETTINGS, names, client_tls, POLICY)
    portal = await Server(ALLOWED, tls=server_tls).start()
    try:
        names.table["hooks.portal.test"] = [ALLOWED]
        result = await post(http, f"https://hooks.portal.test:{portal.port}/dvc")
        assert result.ok, result.detail
        assert portal.server_names == ["hooks.portal.test"]
        assert portal.host_header() == f"hooks.portal.test:{portal.port}"
        by_address = await post(http, f"https://{ALLOWED}:{portal.port}/dvc")  # the certificate is not the IP's
        assert (by_address.ok, by_address.error) == (False, "could not connect")
        assert "certificate" in by_address.detail.lower()
    finally:
        await portal.stop()
        await http.aclose()


HOSTS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
    st.sampled_from(["127.1", "0x7f000001", "2130706433", "[::1]", "[::ffff:127.0.0.1]", "localhost", "\u2488.vn"]),
    st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
    st.from_regex(r"[a-z0-9\-\.]{1,70}", fullmatch=True),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    host=HOSTS,
    port=st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"), st.text(max_size=6).map(":".__add__)),
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    rest=st.text(max_size=20),
)
async def test_no_url_or_host_makes_the_sender_raise(
    http: WebhookHttp, names: Names, host: str, port: str, scheme: str, rest: str
) -> None:
    """Every hostile URL ends in a failed attempt with one of the fixed answers, never an exception; here every
    name resolves to loopback, which is refused (a public address written as one, or a private one for a portal
    allowed them, is no hostile URL and would be reached: left out)."""
    try:
        literal = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        literal = None
    assume(literal is None or kind(literal) not in (None, Kind.PRIVATE))  # these are reached, not refused
    names.everything = ["127.0.0.1"]
    url = f"{scheme}://{host}{port}/{rest}"
    for allow_private in (False, True):
        result = await sender.send(
            http.client(allow_private), url, ["whsec_t"], "evt_1", b"{}", timeout=2, max_response_bytes=1024
        )
        assert result.ok is False and result.status_code is None, (url, result)
        assert result.error in (sender.COULD_NOT_CONNECT, "no answer within 2 s"), (url, result)
