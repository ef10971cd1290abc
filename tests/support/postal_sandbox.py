"""The postal test harness: a real sandbox process on a free localhost port, a real webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from adapters.postal import webhook
from adapters.postal.client import PostalClient, PostalConfig
from adapters.postal.errors import WebhookRejected

ROOT = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD, CUSTOMER = "it-user", "it-password", "IT0001"
# The sandbox signs with both secrets (rotation); the receiver only knows the old one.
SANDBOX_SECRETS, RECEIVER_SECRETS = "it-secret-new,it-secret-old", ["it-secret-old"]
WAIT = 10.0  # seconds any test waits for something to happen before failing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Receiver:
    """A tiny webhook endpoint: verifies every push, answers ``fail_next`` of them with 500 first."""

    url: str = ""
    fail_next: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    failed: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def handle(self, headers: Any, body: bytes) -> int:
        with self.changed:
            try:
                webhook.verify(headers.get(webhook.HEADER, ""), body, RECEIVER_SECRETS, int(time.time()))
            except WebhookRejected as exc:
                self.rejected.append(exc.reason)
                self.changed.notify_all()
                return 401
            if self.fail_next > 0:
                self.fail_next -= 1
                self.failed += 1
                self.changed.notify_all()
                return 500
            self.accepted.append(msgspec.json.decode(body))
            self.changed.notify_all()
            return 200

    def wait_for(self, predicate: Callable[[Receiver], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self), timeout=WAIT), "webhook did not arrive in time"

    def clear(self) -> None:
        with self.changed:
            self.fail_next, self.failed = 0, 0
            self.accepted.clear()
            self.rejected.clear()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = state.handle(self.headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/callbacks/postal"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def running_sandbox(**settings: str) -> Iterator[str]:
    """Start ``python -m adapters.postal.sandbox`` on a free port; yield its URL once it answers."""
    port = free_port()
    env = {**os.environ, "POSTAL_USERNAME": USERNAME, "POSTAL_PASSWORD": PASSWORD,
           "POSTAL_CUSTOMER_CODE": CUSTOMER, **settings}
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.postal.sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:  # bounded wait for the server to answer
            try:
                if httpx.get(url + "/control/clock", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr and process.poll() is not None else ""
                raise RuntimeError(f"sandbox did not start: {error}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def sandbox_url(receiver: Receiver) -> Iterator[str]:
    with running_sandbox(POSTAL_TOKEN_TTL="3600", POSTAL_WEBHOOK_URL=receiver.url,
                         POSTAL_WEBHOOK_SECRET=SANDBOX_SECRETS, POSTAL_TIME_SCALE="0.01",
                         POSTAL_DRIVER="off") as url:
        yield url


@dataclass
class Control:
    """The sandbox's control API, for the tests."""

    http: httpx.AsyncClient

    async def reset(self) -> None:
        (await self.http.post("/control/reset")).raise_for_status()

    async def faults(self, **faults: Any) -> dict[str, Any]:
        response = await self.http.put("/control/faults", json=faults)
        response.raise_for_status()
        return dict(response.json())

    async def advance(self, original_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/control/orders/{original_id}/advance", json=body)

    async def order(self, original_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/control/orders/{original_id}")
        response.raise_for_status()
        return dict(response.json())

    async def attempts(self) -> list[dict[str, Any]]:
        return list((await self.http.get("/control/webhook/attempts")).json()["attempts"])

    async def attempts_until(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """The push attempts once ``done`` holds for them (polled, at most ``WAIT`` seconds)."""
        deadline = time.monotonic() + WAIT
        while True:
            attempts = await self.attempts()
            if done(attempts):
                return attempts
            assert time.monotonic() < deadline, f"push attempts never got there: {attempts}"
            await asyncio.sleep(0.02)

    async def clock(self, now: str | None) -> None:
        (await self.http.put("/control/clock", json={"now": now})).raise_for_status()


@pytest.fixture
async def control(sandbox_url: str, receiver: Receiver) -> AsyncIterator[Control]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as http:
        ctl = Control(http)
        await ctl.reset()
        receiver.clear()
        yield ctl
        await ctl.reset()


def make_config(url: str, **changes: Any) -> PostalConfig:
    fields: dict[str, Any] = {"username": USERNAME, "password": PASSWORD, "customer_code": CUSTOMER, **changes}
    return PostalConfig(base_url=url, **fields)


@pytest.fixture
async def client(sandbox_url: str, control: Control) -> AsyncIterator[PostalClient]:
    async with PostalClient(make_config(sandbox_url, read_timeout=5.0)) as postal:
        yield postal
