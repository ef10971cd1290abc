"""Each agency's signing key, loaded once per process from ``RECEIPT_KEYS_DIR``, never from the database.

The folder holds, per agency code, either ``<code>.p12`` with its password in ``<code>.password``, or the PEM pair
``<code>.key.pem`` + ``<code>.cert.pem`` (the key may be encrypted with the same ``<code>.password``). Every file
is read and checked when the web app or the worker starts: an expired, not yet valid, weak or mismatched
certificate stops the process with a message naming the file, rather than failing at the first receipt. A key
installed for a new agency later is picked up when that agency next needs one (``AgencyKeys.find``), so its held
receipts are issued without a restart.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from pathlib import Path

from adapters.vntime import now_utc
from receipts import SigningKey, SigningKeyError, generate_demo, write_pkcs12

log = logging.getLogger("gateway.receipts")

PKCS12 = ".p12"
PASSWORD_SUFFIX = ".password"  # noqa: S105 - a file name suffix, not a secret
PEM_KEY = ".key.pem"
PEM_CERT = ".cert.pem"


class ReceiptKeysError(RuntimeError):
    """A signing key in the keys folder cannot be used: raised at start, naming the file and the reason."""


def _password(folder: Path, code: str) -> str | None:
    path = folder / f"{code}{PASSWORD_SUFFIX}"
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def load_one(folder: Path, code: str, at: datetime) -> SigningKey:
    """The key of agency ``code`` from its PKCS#12 file or PEM pair in ``folder``."""
    p12 = folder / f"{code}{PKCS12}"
    try:
        if p12.exists():
            return SigningKey.from_pkcs12(p12, _password(folder, code), at=at)
        key, cert = folder / f"{code}{PEM_KEY}", folder / f"{code}{PEM_CERT}"
        return SigningKey.from_pem(key, cert, _password(folder, code), at=at)
    except SigningKeyError as error:
        raise ReceiptKeysError(f"receipt signing key of agency {code} in {folder}: {error}") from None


def _installed(folder: Path, code: str) -> bool:
    """Whether ``folder`` holds a key for agency ``code`` (an agency code is never a path)."""
    if not code or "/" in code or "\\" in code or code.startswith("."):
        return False
    return (folder / f"{code}{PKCS12}").is_file() or (folder / f"{code}{PEM_KEY}").is_file()


class AgencyKeys:
    """The signing keys of the agencies this deployment issues receipts for, by agency code."""

    def __init__(self, keys: dict[str, SigningKey], folder: Path | None = None) -> None:
        self._keys = keys
        self._folder = folder

    @classmethod
    def load(cls, folder: str | Path, at: datetime | None = None) -> AgencyKeys:
        """Read and check every key in ``folder``; a missing folder means no agency can issue yet."""
        path = Path(folder)
        moment = at or now_utc()
        if not path.is_dir():
            log.warning("no receipt keys folder: receipts cannot be signed", extra={"folder": str(path)})
            return cls({}, path)
        codes = {p.name[: -len(PKCS12)] for p in path.glob(f"*{PKCS12}")}
        codes |= {p.name[: -len(PEM_KEY)] for p in path.glob(f"*{PEM_KEY}")}
        keys = {code: load_one(path, code, moment) for code in sorted(codes)}
        log.info("receipt keys loaded", extra={"agencies": sorted(keys), "folder": str(path)})
        return cls(keys, path)

    def get(self, agency_code: str) -> SigningKey | None:
        return self._keys.get(agency_code)

    def find(self, agency_code: str) -> SigningKey | None:
        """The agency's key, loaded from the folder if it was installed since start (checked like the others);
        ``None`` while there is none. A key file that cannot be used raises ``ReceiptKeysError``."""
        key = self._keys.get(agency_code)
        if key is None and self._folder is not None and _installed(self._folder, agency_code):
            key = self._keys[agency_code] = load_one(self._folder, agency_code, now_utc())
            log.info("receipt key installed", extra={"agency": agency_code, "folder": str(self._folder)})
        return key

    def __contains__(self, agency_code: object) -> bool:
        return agency_code in self._keys

    @property
    def agencies(self) -> list[str]:
        return sorted(self._keys)


def ensure_demo_key(folder: str | Path, agency_code: str, organisation: str) -> Path:
    """A self-signed PKCS#12 key for the demo agency, made on the first run and kept afterwards."""
    path = Path(folder)
    p12 = path / f"{agency_code}{PKCS12}"
    if p12.exists():
        return p12
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(18)
    secret = path / f"{agency_code}{PASSWORD_SUFFIX}"
    secret.touch(mode=0o600)
    secret.write_text(password + "\n", encoding="utf-8")
    key_pem, cert_pem = generate_demo(f"{organisation} (demo)", organisation, valid_days=3 * 365)
    write_pkcs12(p12, key_pem, cert_pem, password, name=agency_code)
    p12.chmod(0o600)
    return p12
