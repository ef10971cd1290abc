"""The finance pages in an app of the test's own (in-process, through Litestar's test client), on SQLite and
PostgreSQL, with Redis for the sign-in budget (a budget of the test's own)."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import load
from gateway.store.db import Database
from tests.support.services import migrated_url, require_redis

SIGN_IN_LIMIT = 8  # per client address per hour (an hour: a test's few requests cannot straddle a window's end)
LOCKOUT = 2


@dataclass
class Pages:
    client: httpx.AsyncClient
    db: Database


@pytest.fixture(params=["sqlite", "postgres"])
async def pages(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pages]:
    async with migrated_url(request.param, tmp_path) as url:
        db = Database.from_url(url)
        settings = load(
            {
                "PAYHUB_HASH_KEY": "finance-pages",
                "WEBHOOK_SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                "DATABASE_URL": url,
                "REDIS_URL": require_redis(),
                "QUEUE_NAME": f"finance-{secrets.token_hex(4)}",
                "RECEIPT_KEYS_DIR": str(tmp_path / "receipt-keys"),
                "STAFF_COOKIE_SECURE": "false",  # the test client speaks plain http
                "STAFF_SIGNIN_RATE_LIMIT": str(SIGN_IN_LIMIT),
                "STAFF_SIGNIN_RATE_WINDOW_SECONDS": "3600",
                "STAFF_LOCKOUT_FAILURES": str(LOCKOUT),
            },
            log_json=False,
        )
        try:
            async with AsyncTestClient(create_app(settings), base_url="http://gateway.local") as client:
                yield Pages(client, db)
        finally:
            await db.dispose()


def csrf_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str, **headers: str) -> httpx.Response:
    """The form read, then sent back filled in, as a browser does."""
    form = await client.get("/finance/sign-in")
    data = {"csrf_token": csrf_token(form), "username": username, "password": password, "next": "/finance/"}
    return await client.post("/finance/sign-in", data=data, headers=headers, follow_redirects=False)
