"""``gateway staff add|passwd|access|disable|enable|list``: the password from a file or standard input, never an
argument; agencies only from the catalogue; the account made signs in, with the role it was given last; disabling
it ends that."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from adapters.vntime import now_utc
from gateway.cli import main
from gateway.staff import Passwords, SessionPolicy, SignInRefused, StaffSessions
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from tests.support.staff import add_agencies


def sign_in(url: str, username: str, password: str) -> str:
    async def go() -> str:
        db = Database.from_url(url)
        try:
            signed = await StaffSessions(db, Passwords(), SessionPolicy()).sign_in(
                username, password, client_ip="", now=now_utc()
            )
            return signed.member.role
        finally:
            await db.dispose()

    return asyncio.run(go())


async def seeded(url: str, *codes: str) -> None:
    db = Database.from_url(url)
    try:
        await add_agencies(db, *codes)
    finally:
        await db.dispose()


def add_lan(first: str, second: str, password_file: Path) -> list[str]:
    """``gateway staff add`` of an officer of two agencies, her password from a file."""
    return [
        "staff", "add", "--username", "lan", "--name", "Nguyễn Thị Lan", "--role", "officer",
        "--agency", first, "--agency", second, "--password-file", str(password_file),
    ]


def test_staff_accounts_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PAYHUB_HASH_KEY", "staff-cli-test")
    upgrade(url)
    asyncio.run(seeded(url, "000.00.01.H26", "000.00.02.H26"))
    secret = tmp_path / "password"
    secret.write_text("mat-khau-tu-tep-1\n", encoding="utf-8")
    with pytest.raises(SystemExit) as refused:  # an agency the catalogue does not have: nothing made
        main(add_lan("000.00.01.H26", "000.00.03.H62", secret))
    assert isinstance(refused.value.code, str)  # printed to standard error, exit status 1
    assert refused.value.code.startswith("gateway: unknown agency code(s) '000.00.03.H62'")
    main(add_lan("000.00.01.H26", "000.00.02.H26", secret))
    made = json.loads(capsys.readouterr().out)
    assert made["agencies"] == ["000.00.01.H26", "000.00.02.H26"] and made["role"] == "officer"
    assert sign_in(url, "lan", "mat-khau-tu-tep-1") == "officer"

    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-tu-stdin-2\n"))
    main(["staff", "passwd", "lan"])
    assert sign_in(url, "lan", "mat-khau-tu-stdin-2") == "officer"

    main(["staff", "access", "lan", "--role", "viewer", "--agency", "000.00.02.H26"])
    assert sign_in(url, "lan", "mat-khau-tu-stdin-2") == "viewer"
    with pytest.raises(SystemExit, match="give --role"):  # nothing to change
        main(["staff", "access", "lan"])
    with pytest.raises(SystemExit, match="unknown agency"):
        main(["staff", "access", "lan", "--agency", "000.00.03.H62"])

    with pytest.raises(SystemExit, match="taken"):
        main(
            [
                "staff",
                "add",
                "--username",
                "lan",
                "--name",
                "X",
                "--role",
                "viewer",
                "--all-agencies",
                "--password-file",
                str(secret),
            ]
        )
    with pytest.raises(SystemExit):  # no password on the command line
        main(
            [
                "staff",
                "add",
                "--username",
                "minh",
                "--name",
                "X",
                "--role",
                "viewer",
                "--all-agencies",
                "--password",
                "mat-khau-tu-tep-1",
            ]
        )

    main(["staff", "disable", "lan"])
    with pytest.raises(SignInRefused):
        sign_in(url, "lan", "mat-khau-tu-stdin-2")
    capsys.readouterr()
    main(["staff", "list"])
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["username"], row["active"], row["role"], row["agencies"]) for row in listed] == [
        ("lan", False, "viewer", ["000.00.02.H26"])
    ]
