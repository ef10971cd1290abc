"""Real servers for the hub sandbox tests: the sandbox and a partner's callback receiver, each under uvicorn.

Both run in their own threads on free 127.0.0.1 ports and are reached over real HTTP only.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar, Request, Response, post

from adapters.payhub import (
    CallbackRejected,
    FeeItem,
    HubResult,
    InitOrder,
    PayhubClient,
    PayhubConfig,
    ReceiptInfo,
    Reply,
    build_confirm_ack,
    parse_confirm,
    peek_reference,
)
from adapters.payhub.sandbox import SandboxConfig, create_app

PARTNER = "DVC-TEST-01"
KEY = "sandbox-test-key-0001"
TIME_SCALE = 0.0001  # ladder: 6 ms, 30 ms, 90 ms, 360 ms, 2.16 s
CALLBACK_TIMEOUT = 10_000  # scaled: 1 s
RECEIVER_STALL = 1.5  # longer than the scaled callback timeout
RETURN_URL = "http://127.0.0.1:9/payments/return?portal=demo"
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """Poll a condition until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        time.sleep(0.005)


class ServerThread:
    """One ASGI app under uvicorn in a background thread, stopped gracefully."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive())
        if not self.server.started:
            raise RuntimeError("server did not start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=WAIT)
        if self.thread.is_alive():
            raise RuntimeError("server did not stop")


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` (a sandbox) under uvicorn on a free port for the block: its URL."""
    server = ServerThread(app, free_port()).start()
    try:
        yield server.url
    finally:
        server.stop()


@dataclass
class Received:
    """One callback as the partner saw it."""

    body: bytes
    at: float
    result: HubResult | None
    rejected: Reply | None
    step: str

    @property
    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Receiver:
    """The partner's callback endpoint: verifies each callback and answers as its script says.

    Script steps: ``"00"``/``"99"``/… answer that code (signed); ``"http500"`` answers HTTP 500; ``"stall"``
    answers after ``RECEIVER_STALL`` seconds; ``"badsig"`` answers ``00`` with a corrupted checksum. With the
    script empty, a verified callback gets ``00`` and a rejected one its rejection code.
    """

    url: str = ""
    calls: list[Received] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def plan(self, *steps: str) -> None:
        self.script.extend(steps)

    def reset(self) -> None:
        with self.changed:
            self.calls.clear()
            self.script.clear()

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[Received]:
        def enough() -> bool:
            with self.changed:
                return self.changed.wait_for(lambda: len(self.calls) >= count, timeout)

        if not await asyncio.to_thread(enough):
            raise AssertionError(f"expected {count} callbacks, got {len(self.calls)}")
        return list(self.calls)

    async def handle(self, body: bytes) -> Response[Any]:
        step = self.script.popleft() if self.script else ""
        result: HubResult | None = None
        rejected: Reply | None = None
        try:
            result = parse_confirm(body, PARTNER, KEY)
        except CallbackRejected as refusal:
            rejected = refusal.reply
        with self.changed:
            self.calls.append(Received(body, time.monotonic(), result, rejected, step))
            self.changed.notify_all()
        if step == "http500":
            return Response(content=b"", status_code=500)
        if step == "stall":
            await asyncio.sleep(RECEIVER_STALL)
        code = Reply(step) if step in {r.value for r in Reply} else (rejected or Reply.OK)
        reply = build_confirm_ack(code, PARTNER, peek_reference(body), datetime.now(UTC), KEY)
        if step == "badsig":
            reply["MaXacThuc"] = "0" * 64
        return Response(content=reply, status_code=200)


def receiver_app(receiver: Receiver) -> Litestar:
    @post("/callback", status_code=200)
    async def callback(request: Request[Any, Any, Any]) -> Response[Any]:
        return await receiver.handle(await request.body())

    return Litestar(route_handlers=[callback], openapi_config=None)


@dataclass
class Hub:
    url: str
    config: SandboxConfig


def sandbox_config(port: int, callback_url: str, **overrides: Any) -> SandboxConfig:
    settings: dict[str, Any] = {
        "hash_key": KEY,
        "partner_code": PARTNER,
        "callback_url": callback_url,
        "return_url": RETURN_URL,
        "public_url": f"http://127.0.0.1:{port}",
        "time_scale": TIME_SCALE,
        "callback_timeout": CALLBACK_TIMEOUT,
    }
    settings.update(overrides)
    return SandboxConfig(**settings)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    partner = Receiver()
    server = ServerThread(receiver_app(partner), free_port()).start()
    partner.url = f"{server.url}/callback"
    yield partner
    server.stop()


@pytest.fixture(scope="session")
def hub(receiver: Receiver) -> Iterator[Hub]:
    port = free_port()
    config = sandbox_config(port, receiver.url)
    server = ServerThread(create_app(config), port).start()
    yield Hub(server.url, config)
    server.stop()


@pytest.fixture(autouse=True)
def clean(hub: Hub, receiver: Receiver) -> None:
    httpx.post(f"{hub.url}/control/reset", timeout=WAIT).raise_for_status()
    receiver.reset()


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[PayhubClient]:
    payhub = PayhubClient(PayhubConfig(base_url=hub.url, partner_code=PARTNER, hash_key=KEY))
    yield payhub
    await payhub.aclose()


@pytest.fixture
async def control(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{hub.url}/control", timeout=WAIT) as http:
        yield http


def fee_receipt(
    *amounts: int, dossier: str = "000.00.01.H26-261122-0001", names: tuple[str, ...] = ()
) -> ReceiptInfo:
    lines = [
        FeeItem(LoaiPhiLePhi=2 if i == 0 else 1, MaPhiLePhi=f"LP{i:03d}",
                TenPhiLePhi=names[i] if i < len(names) else f"Lệ phí cấp giấy phép {i}", SoTien=amount)
        for i, amount in enumerate(amounts)
    ]
    return ReceiptInfo(
        MaHoSo=dossier, MaDonVi="000.00.01.H26", TenDonVi="Sở Tư pháp thành phố Hà Nội", PhiLePhi=lines,
        MaTTHC="1.001234", TenTTHC="Cấp phiếu lý lịch tư pháp", HoTenNguoiNop="Nguyễn Văn An",
    )


def init_order(reference: str, *amounts: int, total: int | None = None, **receipt: Any) -> InitOrder:
    return InitOrder(
        reference=reference,
        amount=sum(amounts) if total is None else total,
        description=f"Nop le phi ho so {reference}",
        client_ip="203.0.113.7",
        receipt=fee_receipt(*amounts, **receipt),
        sent_at=datetime.now(UTC),
    )


async def pay(control: httpx.AsyncClient, reference: str, **body: Any) -> dict[str, Any]:
    response = await control.post(f"/payments/{reference}/pay", json=body)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def set_faults(control: httpx.AsyncClient, faults: dict[str, Any]) -> None:
    (await control.put("/faults", json=faults)).raise_for_status()


async def eventually(
    fetch: Callable[[], Awaitable[Any]], holds: Callable[[Any], bool], timeout: float = WAIT
) -> Any:
    """Fetch until the answer satisfies ``holds``; fail after ``timeout`` seconds with the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await fetch()
        if holds(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time; last answer: {answer!r}")
        await asyncio.sleep(0.01)


async def callbacks_of(control: httpx.AsyncClient, reference: str) -> list[dict[str, Any]]:
    response = await control.get(f"/payments/{reference}")
    response.raise_for_status()
    deliveries: list[dict[str, Any]] = response.json()["callbacks"]
    return deliveries
