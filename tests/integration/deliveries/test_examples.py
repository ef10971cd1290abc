"""The integration guide's examples really run: the Python, Java and PHP verifiers accept a signature made
independently here and refuse a changed byte or a stale timestamp; the sample receiver takes real deliveries
from the gateway, stores each event once and keeps each dossier's latest state."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import Process
from tests.support.services import free_port, missing, wait_for
from tests.support.stack import Stack

from .conftest import Portal, states, write_events

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
SECRET = "whsec_example-secret"
BODY = json.dumps(
    {
        "id": "evt_1",
        "type": "payment.paid",
        "created_at": "2026-11-22T03:00:00Z",
        "dossier_code": "HS-1",
        "sequence": 2,
        "data": {"amount": 150000, "payer": "Nguyễn Thị Hồng Nhung"},
    },
    ensure_ascii=False,
).encode()


def signed(body: bytes, secret: str, at: int) -> str:
    return f"t={at},v1={hmac.new(secret.encode(), f'{at}.'.encode() + body, hashlib.sha256).hexdigest()}"


def command(language: str) -> list[str]:
    if language == "python":
        return [sys.executable, str(EXAMPLES / "verify_webhook.py")]
    if language == "java":
        if shutil.which("java") is None:
            missing("java (default-jdk-headless)")
        return ["java", str(EXAMPLES / "VerifyWebhook.java")]
    if shutil.which("php") is None:
        missing("php (php-cli)")
    return ["php", str(EXAMPLES / "verify_webhook.php")]


@pytest.mark.parametrize("language", ["python", "java", "php"])
def test_the_verifier_examples_accept_only_fresh_untouched_deliveries(language: str, tmp_path: Path) -> None:
    run = command(language)
    now = int(time.time())

    def verdict(header: str, body: bytes, secret: str = SECRET) -> bool:
        path = tmp_path / "body.json"
        path.write_bytes(body)
        done = subprocess.run([*run, secret, header, str(path)], capture_output=True, timeout=60)
        assert done.returncode in (0, 1), done.stderr.decode()
        return done.returncode == 0

    assert verdict(signed(BODY, SECRET, now), BODY)
    rotating = f"{signed(BODY, 'whsec_new', now)},v1={signed(BODY, SECRET, now).split('v1=')[1]}"
    assert verdict(rotating, BODY)
    assert not verdict(signed(BODY, SECRET, now), BODY.replace(b"150000", b"150001"))
    assert not verdict(signed(BODY, SECRET, now), BODY, "whsec_other")
    assert not verdict(signed(BODY, SECRET, now - 600), BODY)
    assert not verdict(f"t={now},v1=" + "0" * 64, BODY)
    assert not verdict("v1=abc", BODY)


async def test_the_sample_receiver_stores_real_deliveries_once_with_the_latest_state(
    stack: Stack, portal: Portal, tmp_path: Path
) -> None:
    assert stack.db is not None
    port = free_port()
    store = tmp_path / "receiver.db"
    configured = await portal.api.put("/v1/webhook", json={"url": f"http://127.0.0.1:{port}/hooks"})
    assert configured.status_code == 201, configured.text
    receiver = Process(
        "sample-receiver",
        ["receiver", "--port", str(port), "--db", str(store)],
        {"WEBHOOK_SECRET": configured.json()["secret"], "PYTHONPATH": str(EXAMPLES)},
        tmp_path,
    ).start()
    try:
        await wait_for(lambda: "listening" in receiver.log(), timeout=15, what="the sample receiver")
        ids = await write_events(stack.db, portal.portal_id, 20, dossiers=4)

        def stored() -> int:
            if not store.exists():
                return 0
            with sqlite3.connect(store) as db:
                return db.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[no-any-return]

        await wait_for(lambda: stored() == len(ids), timeout=30, what="every event in the sample receiver")

        async def recorded() -> bool:  # a replay of an event still in flight is that same delivery
            return await states(stack.db, portal.portal_id) == {"delivered": len(ids)}  # type: ignore[arg-type]

        await wait_for(recorded, what="the deliveries recorded")
        replay = await portal.api.post(f"/v1/events/{ids[0]}/replay", headers={"Idempotency-Key": "replay-1"})
        assert replay.status_code == 202

        async def sent_twice() -> bool:
            log = await portal.api.get("/v1/webhook/deliveries", params={"event_id": ids[0]})
            return len(log.json()["data"]) == 2

        await wait_for(sent_twice, timeout=30, what="the replayed delivery")
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT count(*) FROM events").fetchone()[0] == len(ids)
            latest = dict(db.execute("SELECT dossier_code, sequence FROM dossiers").fetchall())
        assert sorted(latest.values()) == [5, 5, 5, 5]
    finally:
        receiver.stop()
