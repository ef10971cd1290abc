"""The ``gateway`` command: migrate, add an agency with its catalogue, create a portal whose key works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.portals.service import authenticate
from gateway.store.db import Database

AGENCY = {
    "code": "000.00.09.H26",
    "name": "Ủy ban nhân dân xã Sóc Sơn",
    "tax_code": "0109876543",
    "address": "Sóc Sơn, Hà Nội",
    "treasury_account": "3511.0.1099999",
    "treasury_bank_code": "KBNN-HN",
    "treasury_account_name": "UBND xã Sóc Sơn",
    "procedures": [
        {
            "code": "1.001193",
            "name": "Cấp bản sao trích lục hộ tịch",
            "fees": [{"code": "LP-HT-01", "kind": 2, "name": "Lệ phí cấp bản sao", "amount": 8000}],
        }
    ],
}


def gateway(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_an_operator_sets_up_an_agency_and_a_portal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {"DATABASE_URL": url, "PAYHUB_HASH_KEY": "cli-test"}
    assert gateway("migrate", env=env).returncode == 0
    spec = tmp_path / "agency.json"
    spec.write_text(json.dumps(AGENCY, ensure_ascii=False), encoding="utf-8")
    added = gateway("agency", "add", "--file", str(spec), env=env)
    assert added.returncode == 0, added.stderr
    created = gateway("portal", "create", "--name", "Cổng DVC xã", "--agency", AGENCY["code"], env=env)
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    assert "shown only now" in created.stderr
    db = Database.from_url(url)
    try:
        portal = await authenticate(db, out["api_key"])
    finally:
        await db.dispose()
    assert portal is not None and portal.portal_id == out["portal_id"] and len(portal.agency_ids) == 1


def test_a_bad_agency_file_is_refused_with_a_message(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "PAYHUB_HASH_KEY": "cli-test"}
    spec = tmp_path / "agency.json"
    spec.write_text(json.dumps({"code": "X"}), encoding="utf-8")
    result = gateway("agency", "add", "--file", str(spec), env=env)
    assert result.returncode != 0
    assert "Object missing required field" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_setting_is_reported_plainly(tmp_path: Path) -> None:
    result = gateway("migrate", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "PAYHUB_HASH_KEY": ""})
    assert result.returncode != 0
    assert "PAYHUB_HASH_KEY" in result.stderr and "Traceback" not in result.stderr


async def test_an_operator_keeps_a_certificate_the_agency_signed_with_before(tmp_path: Path) -> None:
    """A certificate used before this gateway kept certificates is added from the agency's records and becomes
    one receipts are checked against; an unknown agency or an unreadable file is refused."""
    from cryptography import x509

    from gateway.receipts import trust
    from receipts import generate_demo

    url = f"sqlite+aiosqlite:///{tmp_path / 'certs.db'}"
    env = {"DATABASE_URL": url, "PAYHUB_HASH_KEY": "cli-test"}
    assert gateway("migrate", env=env).returncode == 0
    spec = tmp_path / "agency.json"
    spec.write_text(json.dumps(AGENCY, ensure_ascii=False), encoding="utf-8")
    assert gateway("agency", "add", "--file", str(spec), env=env).returncode == 0
    old, older = generate_demo("Cũ", AGENCY["name"])[1], generate_demo("Cũ hơn", AGENCY["name"])[1]
    pem = tmp_path / "old.pem"
    pem.write_bytes(old + older)

    kept = gateway("agency", "certificate", "--code", AGENCY["code"], "--file", str(pem), env=env)
    assert kept.returncode == 0, kept.stderr
    listed = json.loads(kept.stdout)["certificates"]
    assert {c["origin"] for c in listed} == {"imported"} and len(listed) == 2
    again = gateway("agency", "certificate", "--code", AGENCY["code"], "--file", str(pem), env=env)
    assert len(json.loads(again.stdout)["certificates"]) == 2, "adding the same certificate twice keeps one"

    db = Database.from_url(url)
    try:
        async with db.read() as conn:
            trusted = await trust.of_collector(conn, AGENCY["tax_code"])
    finally:
        await db.dispose()
    assert set(trusted[AGENCY["tax_code"]]) == {x509.load_pem_x509_certificate(c) for c in (old, older)}

    unknown = gateway("agency", "certificate", "--code", "000.00.99.H26", "--file", str(pem), env=env)
    assert unknown.returncode != 0 and "no agency" in unknown.stderr
    (tmp_path / "bad.pem").write_text("not a certificate")
    bad = gateway("agency", "certificate", "--code", AGENCY["code"], "--file", str(tmp_path / "bad.pem"), env=env)
    assert bad.returncode != 0 and "bad.pem" in bad.stderr
