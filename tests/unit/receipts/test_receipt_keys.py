"""Signing keys are checked once, at load time, with a message that says what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from adapters.vntime import now_utc
from receipts import SigningKey, SigningKeyError, generate_demo, write_pkcs12


def _write(folder: Path, key_pem: bytes, cert_pem: bytes) -> tuple[Path, Path]:
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    return folder / "key.pem", folder / "cert.pem"


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[bytes, bytes]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Yếu")])
    start = now_utc() - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def test_demo_key_loads_from_pem(demo_pem: tuple[Path, Path]) -> None:
    key = SigningKey.from_pem(*demo_pem)
    assert key.private_key.key_size == 2048
    assert "CN=Demo ký biên lai" in key.subject and "C=VN" in key.subject
    assert len(key.fingerprint) == 64


def test_pkcs12_loads_with_its_password_only(tmp_path: Path) -> None:
    key_pem, cert_pem = generate_demo("Demo", "UBND phường Hoàn Kiếm")
    path = tmp_path / "agency.p12"
    write_pkcs12(path, key_pem, cert_pem, "mật-khẩu-đúng", name="agency")
    key = SigningKey.from_pkcs12(path, "mật-khẩu-đúng")
    assert key.certificate == x509.load_pem_x509_certificate(cert_pem)
    with pytest.raises(SigningKeyError, match="wrong password"):
        SigningKey.from_pkcs12(path, "sai")
    with pytest.raises(SigningKeyError, match="wrong password"):
        SigningKey.from_pkcs12(path, None)


def test_encrypted_pem_needs_its_password(tmp_path: Path) -> None:
    key_pem, cert_pem = generate_demo("Demo", "UBND")
    key = serialization.load_pem_private_key(key_pem, None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"secret"))
    paths = _write(tmp_path, encrypted, cert_pem)
    assert SigningKey.from_pem(*paths, password="secret").subject
    with pytest.raises(SigningKeyError, match="wrong password"):
        SigningKey.from_pem(*paths, password="other")
    with pytest.raises(SigningKeyError, match="private key"):
        SigningKey.from_pem(*paths)


def test_expired_certificate_is_refused_at_load(tmp_path: Path) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    paths = _write(tmp_path, *generate_demo("Cũ", "UBND", 30, not_before=long_ago))
    with pytest.raises(SigningKeyError, match="expired on 2020-01-31"):
        SigningKey.from_pem(*paths)


def test_not_yet_valid_certificate_is_refused_at_load(tmp_path: Path) -> None:
    paths = _write(tmp_path, *generate_demo("Mới", "UBND", 30, not_before=now_utc() + timedelta(days=2)))
    with pytest.raises(SigningKeyError, match="not valid before"):
        SigningKey.from_pem(*paths)


def test_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    key_pem, _ = generate_demo("Một", "UBND")
    _, other_cert_pem = generate_demo("Hai", "UBND")
    with pytest.raises(SigningKeyError, match="not for this private key"):
        SigningKey.from_pem(*_write(tmp_path, key_pem, other_cert_pem))


def test_weak_rsa_key_is_refused(tmp_path: Path) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(SigningKeyError, match="1024 bits; at least 2048"):
        SigningKey.from_pem(*_write(tmp_path, *_self_signed(weak)))


def test_non_rsa_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="must be RSA"):
        SigningKey.from_pem(*_write(tmp_path, *_self_signed(ec.generate_private_key(ec.SECP256R1()))))


def test_missing_or_garbled_files_are_refused_clearly(tmp_path: Path, demo_pem: tuple[Path, Path]) -> None:
    with pytest.raises(SigningKeyError, match="cannot read the PKCS#12 file"):
        SigningKey.from_pkcs12(tmp_path / "absent.p12", "x")
    (tmp_path / "garbled.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(SigningKeyError, match="not a PEM certificate"):
        SigningKey.from_pem(demo_pem[0], tmp_path / "garbled.pem")
