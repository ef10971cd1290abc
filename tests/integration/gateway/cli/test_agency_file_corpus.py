"""``gateway agency add --file`` with every hostile agency file of the corpus: each is refused with a message
naming the file, quickly, and the database is left as it was."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.cli import main
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.tables import portals as ct
from tests.integration.gateway.cli.test_gateway_command import AGENCY
from tests.support import hostile_corpus as corpus

# The agency's own fields are all text: written as numbers they are refused like any other wrong type.
HUGE_FILE = b'{"code": "' + b"x" * 2_000_000 + b'"}'


def count_rows(url: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        db = Database.from_url(url)
        try:
            async with db.read() as conn:
                return {
                    table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                    for table in (ct.agencies, ct.procedures, ct.procedure_fees)
                }
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_every_hostile_agency_file_is_refused_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'agency.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PAYHUB_HASH_KEY", "agency-file-test")
    upgrade(url)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(AGENCY, ensure_ascii=False), encoding="utf-8")
    main(["agency", "add", "--file", str(good)])
    before = count_rows(url)
    assert before["agencies"] == 1
    cases = [*corpus.json_documents(AGENCY), ("larger than any agency", HUGE_FILE)]
    for n, (name, data) in enumerate(cases):
        path = tmp_path / f"case-{n}.json"
        path.write_bytes(data)
        start = time.monotonic()
        with pytest.raises(SystemExit) as refused:
            main(["agency", "add", "--file", str(path)])
        assert time.monotonic() - start < 2, name
        assert str(path) in str(refused.value.code), name
    assert count_rows(url) == before
    assert "Traceback" not in capsys.readouterr().err
