"""A real webhook receiver for tests: a small HTTP/1.1 server on 127.0.0.1 in the test's event loop, written on
raw sockets so it can also answer the way broken portals do (huge, slow, malformed). It checks every signature
with its own HMAC code, independent of the gateway's."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.stack import RECEIVER_HOST

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
FAIL = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown"


def independent_verify(header: str, body: bytes, secret: str, now: float, tolerance: float = 300) -> bool:
    """The portal's side, written from the integration guide alone."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [v for k, v in fields if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in fields if k == "v1")


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """``answer(delivery)`` returns the mode for that request: ok, fail, ``status:<code>``, delay (200 after
    ``delay`` s), slow, huge, trickle, malformed, close, or ``redirect:<url>``. ``host`` may be any loopback
    address; the test stack lets portals allowed private webhooks reach ``RECEIVER_HOST`` only."""

    secrets: list[str] = field(default_factory=list)
    answer: Callable[[Delivery], str] = lambda _d: "ok"
    deliveries: list[Delivery] = field(default_factory=list)
    server: asyncio.base_events.Server | None = None
    port: int = 0
    delay: float = 0.25

    host: str = RECEIVER_HOST
    connections: int = 0
    verified_ids: set[str] = field(default_factory=set)  # the event ids that came with a valid signature

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/dvc"

    async def start(self, port: int = 0) -> Receiver:
        self.server = await asyncio.start_server(self._connection, self.host, port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def clear(self) -> None:
        self.deliveries.clear()
        self.verified_ids.clear()

    def verified(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.verified]

    def unique(self) -> dict[str, dict[str, Any]]:
        """Events after dedup by id, first arrival wins, in arrival order."""
        seen: dict[str, dict[str, Any]] = {}
        for d in self.deliveries:
            if d.verified and d.body:
                seen.setdefault(d.headers["gateway-event-id"], d.event)
        return seen

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.time()
                ok = any(independent_verify(headers.get("gateway-signature", ""), body, s, now) for s in self.secrets)
                delivery = Delivery(headers, body, now, ok)
                if ok:
                    self.verified_ids.add(headers.get("gateway-event-id", ""))
                mode = self.answer(delivery)
                self.deliveries.append(delivery)
                if not await self._reply(mode, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # the gateway hung up, or the test is over
        finally:
            writer.close()

    async def _reply(self, mode: str, writer: asyncio.StreamWriter) -> bool:
        """Write the answer; False closes the connection."""
        if mode == "ok":
            writer.write(OK)
        elif mode == "fail":
            writer.write(FAIL)
        elif mode.startswith("status:"):
            writer.write(b"HTTP/1.1 %s Status\r\nContent-Length: 2\r\n\r\nok" % mode.removeprefix("status:").encode())
        elif mode.startswith("redirect:"):  # a redirect the gateway must not follow
            location = mode.removeprefix("redirect:").encode()
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n")
        elif mode == "delay":  # a slow but working portal: answers 200 after a while
            await asyncio.sleep(self.delay)
            writer.write(OK)
        elif mode == "slow":
            await asyncio.sleep(30)
            return False
        elif mode == "huge":
            size = 50 * 1024 * 1024
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                writer.write(chunk)
                await writer.drain()
            return False
        elif mode == "huge_chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(400):
                writer.write(b"10000\r\n" + b"y" * 65536 + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            return False
        elif mode == "trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                writer.write(b"z")
                await writer.drain()
                await asyncio.sleep(0.5)
            return False
        elif mode == "malformed":
            writer.write(b"this is not HTTP at all\r\n\r\n")
            await writer.drain()
            return False
        elif mode == "close":
            return False
        await writer.drain()
        return True
