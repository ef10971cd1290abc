"""The benchmarks' load generator: wrk with bench/wrk/requests.lua must send what the benchmark prepared (each
single-use request at most once, a fresh token per request, the pace asked for) and count right and wrong
answers, or every figure built on it is wrong. A recording HTTP server on loopback sees what wrk sends."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench import load
from bench.load import PLACEHOLDER, request_line, write_requests
from tests.support.services import missing


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """HTTP/1.1 keep-alive, enough for wrk: records every request; 404 for /missing, else 201."""

    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode().split("\r\n")
                method, path, _ = first.split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append(Seen(method, path, headers, body))
                status = "404 Not Found" if path == "/missing" else "201 Created"
                answer = b'{"ok":true}'
                writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(answer)}\r\n\r\n".encode() + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    if shutil.which("wrk") is None:
        missing("wrk (installed by .ci/system-deps.sh)")
    recording = Recorder()
    server = await asyncio.start_server(recording.handle, "127.0.0.1", 0)
    recording.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/in"
    try:
        yield recording
    finally:
        server.close()


async def test_single_use_lines_are_sent_once_at_the_pace_asked(recorder: Recorder, tmp_path: Path) -> None:
    lines = [request_line(json.dumps({"n": n}).encode(), {"X-N": str(n)}) for n in range(5000)]
    figures = await load.wrk(
        recorder.url,
        write_requests(tmp_path / "r.txt", lines),
        mode="once",
        seconds=2,
        connections=8,
        threads=2,
        status=201,
        rate=100,
    )
    bodies = [json.loads(s.body)["n"] for s in recorder.seen]
    assert len(bodies) == len(set(bodies)), "a single-use request was sent twice"
    assert all(s.headers["x-n"] == str(json.loads(s.body)["n"]) for s in recorder.seen)
    assert all(s.method == "POST" and s.path == "/in" for s in recorder.seen)
    assert figures.reused == 0 and figures.bad == 0
    assert 140 <= figures.ok <= 230, f"{figures.ok} requests in 2 s at 100/s"


async def test_running_out_of_single_use_lines_is_reported(recorder: Recorder, tmp_path: Path) -> None:
    lines = [request_line(json.dumps({"n": n}).encode()) for n in range(20)]
    figures = await load.wrk(
        recorder.url,
        write_requests(tmp_path / "r.txt", lines),
        mode="once",
        seconds=1,
        connections=4,
        threads=2,
        status=201,
    )
    assert figures.ok > 40
    assert figures.reused >= figures.ok - 20


async def test_every_request_gets_its_own_token_in_headers_and_body(recorder: Recorder, tmp_path: Path) -> None:
    template = request_line(json.dumps({"dossier": f"HS-{PLACEHOLDER}"}).encode(), {"Idempotency-Key": PLACEHOLDER})
    figures = await load.wrk(
        recorder.url,
        write_requests(tmp_path / "t.txt", [template]),
        mode="cycle",
        seconds=1,
        connections=8,
        threads=2,
        status=201,
    )
    keys = [s.headers["idempotency-key"] for s in recorder.seen]
    assert figures.ok > 50
    assert len(keys) == len(set(keys)), "two requests shared an Idempotency-Key"
    assert all(PLACEHOLDER not in k and len(k) == 16 for k in keys)
    assert all(json.loads(s.body)["dossier"] == f"HS-{s.headers['idempotency-key']}" for s in recorder.seen)


async def test_answers_other_than_expected_are_counted_as_bad(recorder: Recorder, tmp_path: Path) -> None:
    lines = [request_line(b"", get="/missing"), request_line(b'{"a":1}')]
    figures = await load.wrk(
        recorder.url,
        write_requests(tmp_path / "m.txt", lines),
        mode="cycle",
        seconds=1,
        connections=2,
        threads=1,
        status=201,
        expect='"ok":true',
    )
    gets = [s for s in recorder.seen if s.method == "GET"]
    assert gets and all(s.path == "/missing" and s.body == b"" for s in gets)
    assert figures.bad > 0 and figures.ok > 0
    assert abs(figures.bad - figures.ok) <= 2
