"""A PostgreSQL cluster and a Redis server of a test's own, which it may stop, restart and freeze.

The shared PostgreSQL and Redis serve everyone's tests at once: a fault test never touches them. The private
cluster lives in a temporary folder owned by the ``postgres`` user (PostgreSQL refuses to run as root), listens on
127.0.0.1 on a free port with trust authentication, and is removed when the test ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from gateway import embedded

from .services import free_port, missing

PG_ROOT = Path("/usr/lib/postgresql")


def pg_bin() -> Path | None:
    """The newest installed server's binaries, if any."""
    versions = sorted((p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name))
    return versions[-1] if versions else None


def _as_postgres(args: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root; as ourselves otherwise."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it, read from /proc (the postmaster forks its backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class PrivatePostgres:
    """``start()``, ``stop()``, ``freeze()`` / ``thaw()`` (SIGSTOP / SIGCONT of every server process)."""

    def __init__(self) -> None:
        binaries = pg_bin()
        if binaries is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
            missing("a PostgreSQL server installation (initdb) for a private cluster")
        assert binaries is not None
        self.bin = binaries
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gw-faults-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.frozen: list[int] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])

    @property
    def url(self) -> str:
        """A libpq URL of the cluster's ``postgres`` database (asyncpg and psql take it)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = _as_postgres([str(self.bin / args[0]), *args[1:]])
        return subprocess.run(command, cwd=self.root, capture_output=True, check=check, timeout=120)

    def start(self) -> PrivatePostgres:
        # fsync off: a crash here is the server's (``stop("immediate")``), never the machine's, so what reached the
        # kernel survives it. synchronous_commit stays on: off, a commit is acknowledged before its WAL leaves the
        # server's memory, and a crash loses what the gateway was told had committed (a payment answered 201, gone).
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start"])
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects clients and shuts down cleanly; ``immediate`` is a crash (recovery at restart)."""
        self.thaw()
        self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"], check=False)

    def postmaster_pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def freeze(self) -> None:
        """Stop every server process where it stands: connections stay open and nothing answers."""
        pid = self.postmaster_pid()
        assert pid is not None, "the cluster is not running"
        os.kill(pid, signal.SIGSTOP)  # first, so it forks no new backend meanwhile
        self.frozen = _descendants(pid)
        for each in self.frozen:
            os.kill(each, signal.SIGSTOP)

    def thaw(self) -> None:
        for each in self.frozen:
            try:
                os.kill(each, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def answers(self) -> bool:
        found = self._run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"], check=False)
        return found.returncode == 0

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own on a free port; ``stop()`` and ``start()`` again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = embedded.start_redis(self.workdir, self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # an outage, not a clean shutdown
            self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while embedded.answers(self.url) and time.monotonic() < deadline:
            time.sleep(0.05)
