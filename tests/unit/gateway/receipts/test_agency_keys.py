"""Agency signing keys: loaded from PKCS#12 or PEM files once, and refused at start with a clear message when
expired, not the certificate's own, or locked with another password; the processes refuse to start with them."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.vntime import now_utc
from gateway.receipts.keys import AgencyKeys, ReceiptKeysError, ensure_demo_key
from receipts import generate_demo, write_pkcs12

ROOT = Path(__file__).resolve().parents[4]
CODE = "000.00.01.H26"


def test_the_demo_key_is_made_once_and_loads(tmp_path: Path) -> None:
    p12 = ensure_demo_key(tmp_path, CODE, "Ủy ban nhân dân phường Hoàn Kiếm")
    made = p12.read_bytes()
    assert ensure_demo_key(tmp_path, CODE, "Ủy ban nhân dân phường Hoàn Kiếm").read_bytes() == made
    assert (p12.stat().st_mode & 0o777) == 0o600
    keys = AgencyKeys.load(tmp_path)
    assert keys.agencies == [CODE] and CODE in keys and keys.get(CODE) is not None
    assert "Hoàn Kiếm" in keys.get(CODE).subject  # type: ignore[union-attr]


def test_a_pem_pair_loads(tmp_path: Path) -> None:
    key_pem, cert_pem = generate_demo("PEM", "Ủy ban nhân dân phường Ba Đình")
    (tmp_path / "000.00.02.H26.key.pem").write_bytes(key_pem)
    (tmp_path / "000.00.02.H26.cert.pem").write_bytes(cert_pem)
    assert AgencyKeys.load(tmp_path).agencies == ["000.00.02.H26"]


def test_a_missing_folder_loads_no_key(tmp_path: Path) -> None:
    assert AgencyKeys.load(tmp_path / "absent").agencies == []


def expired(folder: Path) -> None:
    key_pem, cert_pem = generate_demo("Hết hạn", "UBND", 30, not_before=datetime(2020, 1, 1, tzinfo=UTC))
    write_pkcs12(folder / f"{CODE}.p12", key_pem, cert_pem, "pw")
    (folder / f"{CODE}.password").write_text("pw\n")


def test_an_expired_certificate_is_refused_naming_the_agency(tmp_path: Path) -> None:
    expired(tmp_path)
    with pytest.raises(ReceiptKeysError, match=rf"agency {CODE}.*expired"):
        AgencyKeys.load(tmp_path)


def test_a_certificate_not_yet_valid_is_refused(tmp_path: Path) -> None:
    key_pem, cert_pem = generate_demo("Sắp tới", "UBND", 30, not_before=now_utc() + timedelta(days=2))
    write_pkcs12(tmp_path / f"{CODE}.p12", key_pem, cert_pem, "pw")
    (tmp_path / f"{CODE}.password").write_text("pw")
    with pytest.raises(ReceiptKeysError, match="not valid before"):
        AgencyKeys.load(tmp_path)


def test_a_mismatched_pem_pair_is_refused(tmp_path: Path) -> None:
    key_pem, _ = generate_demo("Một", "UBND")
    _, other_cert = generate_demo("Hai", "UBND")
    (tmp_path / f"{CODE}.key.pem").write_bytes(key_pem)
    (tmp_path / f"{CODE}.cert.pem").write_bytes(other_cert)
    with pytest.raises(ReceiptKeysError, match="not for this private key"):
        AgencyKeys.load(tmp_path)


def test_a_wrong_password_is_refused(tmp_path: Path) -> None:
    ensure_demo_key(tmp_path, CODE, "UBND")
    (tmp_path / f"{CODE}.password").write_text("not the password")
    with pytest.raises(ReceiptKeysError, match="wrong password"):
        AgencyKeys.load(tmp_path)


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"]])
def test_the_gateway_and_the_worker_refuse_to_start_with_an_expired_key(tmp_path: Path, command: list[str]) -> None:
    expired(tmp_path)
    env = {
        "PATH": "/usr/bin:/bin",
        "PAYHUB_HASH_KEY": "k",
        "WEBHOOK_SECRETS_KEY": base64.b64encode(bytes(32)).decode(),
        "RECEIPT_KEYS_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *command], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert f"receipt signing key of agency {CODE}" in done.stderr.decode() and "expired" in done.stderr.decode()
