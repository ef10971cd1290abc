"""``python -m adapters.payhub.sandbox`` as its own process: configured from the environment, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.payhub import Outcome, PayhubClient, PayhubConfig
from tests.support.payhub_sandbox import free_port, init_order

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    key_file = tmp_path / "hash-key"
    key_file.write_text("process-test-key\n", encoding="utf-8")
    env = {
        **os.environ,
        "PAYHUB_HASH_KEY_FILE": str(key_file),
        "PAYHUB_PARTNER_CODE": "DVC-PROC-01",
        "PAYHUB_CALLBACK_URL": f"http://127.0.0.1:{free_port()}/nobody-listens",
        "HUB_TIME_SCALE": "1.0",
    }
    env.pop("PAYHUB_HASH_KEY", None)
    env.pop("HUB_PUBLIC_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.payhub.sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{url}/control/health", timeout=1).json() == {"ok": True}:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"sandbox did not start: {process.communicate()[0].decode()}")
        time.sleep(0.05)
    yield url, process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


async def test_module_serves_the_hub_and_stops_cleanly_with_callbacks_pending(
    sandbox_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = sandbox_process
    client = PayhubClient(PayhubConfig(base_url=url, partner_code="DVC-PROC-01", hash_key="process-test-key"))
    try:
        reply = await client.init(init_order("REF-PROC-1", 150_000))
        async with httpx.AsyncClient() as http:
            paid = await http.post(f"{url}/control/payments/REF-PROC-1/pay", json={})
            view = (await http.get(f"{url}/control/payments/REF-PROC-1")).json()
        result = await client.query("REF-PROC-1")
    finally:
        await client.aclose()

    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=10)[0].decode()

    assert reply.UrlThanhToan.startswith(f"{url}/checkout/")  # HUB_PUBLIC_URL defaults to the served address
    assert paid.status_code == 200
    assert result.outcome is Outcome.PAID
    assert view["callbacks"][0]["status"] == "pending"  # a minute from its first retry
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    assert "Application shutdown complete" in output
