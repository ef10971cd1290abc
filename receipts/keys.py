"""An agency's signing key and certificate, loaded and checked once when the process starts.

Loading an RSA key costs tens of milliseconds, so it is never done per receipt; and a certificate that is
expired, not yet valid, weak or not the key's own is refused here, at start, rather than at the first receipt.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from adapters.vntime import now_utc

from .codes import MIN_RSA_BITS, NOT_XML_TEXT
from .errors import SigningKeyError

# A PEM key, a certificate or a PKCS#12 bundle with its chain is a few kilobytes; a file far larger is not one.
MAX_KEY_FILE_BYTES = 1_000_000

def _password_bytes(password: str | bytes | None) -> bytes | None:
    if password is None or isinstance(password, bytes):
        return password
    return password.encode()


def _read(path: str | Path, what: str) -> bytes:
    """A key or certificate file, refused unread when larger than any real one."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise SigningKeyError(f"cannot read the {what} {path}: {error.strerror}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise SigningKeyError(f"the {what} {path} is larger than {MAX_KEY_FILE_BYTES} bytes: not a key file")
    return data


def check_validity(certificate: x509.Certificate, moment: datetime) -> None:
    """Raise SigningKeyError unless ``moment`` lies within the certificate's validity period."""
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if moment < start:
        subject = certificate.subject.rfc4514_string()
        raise SigningKeyError(f"the certificate of {subject} is not valid before {start.isoformat()}")
    if moment > end:
        subject = certificate.subject.rfc4514_string()
        raise SigningKeyError(f"the certificate of {subject} expired on {end.isoformat()}")


class SigningKey:
    """A checked RSA private key with its certificate, and what every signature repeats about them."""

    __slots__ = ("certificate", "fingerprint", "key_info", "private_key", "subject")

    def __init__(
        self, private_key: object, certificate: x509.Certificate, *, at: datetime | None = None
    ) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise SigningKeyError(f"the signing key must be RSA, not {type(private_key).__name__}")
        if private_key.key_size < MIN_RSA_BITS:
            raise SigningKeyError(
                f"the RSA key has {private_key.key_size} bits; at least {MIN_RSA_BITS} are needed"
            )
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != (
            private_key.public_key().public_numbers()
        ):
            raise SigningKeyError(
                f"the certificate ({certificate.subject.rfc4514_string()}) is not for this private key"
            )
        self.private_key = private_key
        self.certificate = certificate
        self.subject = certificate.subject.rfc4514_string()
        if NOT_XML_TEXT.search(self.subject):
            raise SigningKeyError("the certificate's subject contains characters XML cannot carry")
        der = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")
        self.key_info = (  # the same for every signature: written once
            f"<KeyInfo><X509Data><X509SubjectName>{escape(self.subject, quote=False)}</X509SubjectName>"
            f"<X509Certificate>{der}</X509Certificate></X509Data></KeyInfo>"
        )
        self.fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
        self.check_valid_at(at or now_utc())

    def check_valid_at(self, moment: datetime) -> None:
        """Refuse a moment outside the certificate's validity: nothing may be signed with it then."""
        check_validity(self.certificate, moment)

    @classmethod
    def from_pkcs12(
        cls, path: str | Path, password: str | bytes | None, *, at: datetime | None = None
    ) -> SigningKey:
        """Key and certificate from a PKCS#12 (.p12/.pfx) file protected by ``password``."""
        data = _read(path, "PKCS#12 file")
        try:
            key, certificate, _ = pkcs12.load_key_and_certificates(data, _password_bytes(password))
        except ValueError:
            raise SigningKeyError(
                f"cannot open the PKCS#12 file {path}: wrong password or damaged file"
            ) from None
        if key is None or certificate is None:
            raise SigningKeyError(f"the PKCS#12 file {path} lacks a private key or its certificate")
        return cls(key, certificate, at=at)

    @classmethod
    def from_pem(
        cls,
        key_path: str | Path,
        cert_path: str | Path,
        password: str | bytes | None = None,
        *,
        at: datetime | None = None,
    ) -> SigningKey:
        """Key and certificate from two PEM files; the key may be encrypted with ``password``."""
        key_pem = _read(key_path, "private key file")
        cert_pem = _read(cert_path, "certificate file")
        try:
            key = serialization.load_pem_private_key(key_pem, _password_bytes(password))
        except TypeError as error:
            raise SigningKeyError(f"the private key {key_path}: {error}") from None
        except ValueError:
            raise SigningKeyError(
                f"cannot read the private key {key_path}: wrong password or not a PEM private key"
            ) from None
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:
            raise SigningKeyError(f"cannot read the certificate {cert_path}: not a PEM certificate") from None
        return cls(key, certificate, at=at)


def generate_demo(
    common_name: str, organisation: str, valid_days: int = 365, *, not_before: datetime | None = None
) -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key and a self-signed certificate for it, both PEM, for demo runs and tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    start = not_before or now_utc() - timedelta(minutes=5)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def write_pkcs12(
    path: str | Path, key_pem: bytes, cert_pem: bytes, password: str | bytes, name: str = ""
) -> None:
    """Package a PEM key and certificate into a password-protected PKCS#12 file."""
    key = serialization.load_pem_private_key(key_pem, None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningKeyError("only RSA keys are packaged")
    certificate = x509.load_pem_x509_certificate(cert_pem)
    secret = _password_bytes(password) or b""
    data = pkcs12.serialize_key_and_certificates(
        name.encode() or None, key, certificate, None, serialization.BestAvailableEncryption(secret)
    )
    Path(path).write_bytes(data)
