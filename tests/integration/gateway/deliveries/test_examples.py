"""The integration guide's examples really run: the Python, Java and PHP verifiers accept a signature made
independently here and refuse a changed byte or a stale timestamp; the sample receiver takes real deliveries
from the gateway, stores each event once and keeps each dossier's latest state."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import Process
from tests.support.services import free_port, missing, wait_for
from tests.support.stack import RECEIVER_HOST, Stack

from .conftest import Portal, states, write_events

EXAMPLES = Path(__file__).resolve().parents[4] / "docs" / "examples"
HARNESSES = Path(__file__).resolve().parent / "verifiers"
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
        assert done.returncode in (0, 1) and done.stderr == b"", done.stderr.decode()
        return done.returncode == 0

    assert verdict(signed(BODY, SECRET, now), BODY)
    rotating = f"{signed(BODY, 'whsec_new', now)},v1={signed(BODY, SECRET, now).split('v1=')[1]}"
    assert verdict(rotating, BODY)
    assert not verdict(signed(BODY, SECRET, now), BODY.replace(b"150000", b"150001"))
    assert not verdict(signed(BODY, SECRET, now), BODY, "whsec_other")
    assert not verdict(signed(BODY, SECRET, now - 600), BODY)
    assert not verdict(f"t={now},v1=" + "0" * 64, BODY)
    assert not verdict("v1=abc", BODY)
    assert not verdict(f"{signed(BODY, SECRET, now)}é", BODY)
    assert not verdict(f"t={now}²,v1=" + "0" * 64, BODY)


def malformed_headers(body: bytes, now: int) -> list[str]:
    """Headers a verifier must call invalid, calmly: each carries a valid signature somewhere in it."""
    good = signed(body, SECRET, now)
    digest = good.split("v1=")[1]
    return [
        "",
        ",,,",
        "t",
        "v1",
        "=",
        good.replace(f"t={now}", "t="),
        good.replace(f"t={now}", f"t={now}²"),
        good.replace(f"t={now}", "t=" + "".join(chr(0x0660 + int(c)) for c in str(now))),  # Arabic-Indic digits
        good.replace(f"t={now}", "t=" + "".join(chr(0xFF10 + int(c)) for c in str(now))),  # full-width digits
        good.replace(f"t={now}", f"t=+{now}"),
        good.replace(f"t={now}", f"t=-{now}"),
        good.replace(f"t={now}", f"t= {now}"),
        good.replace(f"t={now}", "t=" + "9" * 40),
        f"{good}é",
        f"{good},v1=é",
        f"t={now},v1=é{digest[1:]}",
        f"t={now},v1={digest}€",
        f"t={now},v1={digest.upper()}",
        f"t={now},v1={digest[:-1]}",
        f"t={now},t={now - 1000},v1={digest}",  # two timestamps: which one was signed?
        f"t={now - 1000},{good}",
        f"t={now},v1=Nguyễn Thị Hồng Nhung",
        f"t={now},v1={'ư' * 64}",
        "t=١٢٣,v1=abc",
        f"{good}\u0000",
        "t=" + "1" * 5000 + ",v1=" + "a" * 5000,
    ]


def harness(language: str, tmp_path: Path) -> list[str]:
    """A loop around the example's own verify function: one header a line on stdin, one verdict a line out."""
    if language == "python":
        code = "import sys; from verify_webhook import verify; " + PY_LOOP
        return [sys.executable, "-c", code]
    if language == "java":
        command("java")
        if shutil.which("javac") is None:
            missing("javac (default-jdk-headless)")
        classes = tmp_path / "classes"
        subprocess.run(
            ["javac", "-d", str(classes), str(EXAMPLES / "VerifyWebhook.java"), str(HARNESSES / "VerifyHarness.java")],
            check=True,
            timeout=120,
        )
        return ["java", "-cp", str(classes), "VerifyHarness"]
    command("php")
    return ["php", str(HARNESSES / "verify_harness.php"), str(EXAMPLES / "verify_webhook.php")]


PY_LOOP = (
    "secret, path, now = sys.argv[1], sys.argv[2], int(sys.argv[3]); body = open(path, 'rb').read(); "
    "[print('valid' if verify(line.rstrip('\\n'), body, secret, now) else 'invalid') "
    "for line in sys.stdin.buffer.read().decode('utf-8').split('\\n')]"
)


@pytest.mark.parametrize("language", ["python", "java", "php"])
def test_the_verifier_examples_answer_invalid_to_any_malformed_header(language: str, tmp_path: Path) -> None:
    run = harness(language, tmp_path)
    now = int(time.time())
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    headers = [signed(BODY, SECRET, now), *malformed_headers(BODY, now)]
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES)}
    done = subprocess.run(
        [*run, SECRET, str(path), str(now)],
        input="\n".join(headers).encode(),
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode(errors="replace")
    verdicts = done.stdout.decode().split()
    assert verdicts == ["valid"] + ["invalid"] * (len(headers) - 1), list(zip(headers, verdicts, strict=False))


async def test_the_sample_receiver_stores_real_deliveries_once_with_the_latest_state(
    stack: Stack, portal: Portal, tmp_path: Path
) -> None:
    assert stack.db is not None
    port = free_port()
    store = tmp_path / "receiver.db"
    configured = await portal.api.put("/v1/webhook", json={"url": f"http://{RECEIVER_HOST}:{port}/hooks"})
    assert configured.status_code == 201, configured.text
    receiver = Process(
        "sample-receiver",
        ["receiver", "--host", RECEIVER_HOST, "--port", str(port), "--db", str(store)],
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
