"""``gateway run``: the whole system on its embedded defaults, in one command.

SQLite under ``var/``, Redis at ``REDIS_URL`` if one answers (else an embedded one), the hub and postal
sandboxes, the gateway and the worker as child processes, a seeded demo portal, and the URLs and API key printed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from gateway import demo, embedded
from gateway.deliveries import SecretBox, legacy_hub_key, new_key, reseal
from gateway.settings import Settings, load
from gateway.store.db import Database
from gateway.store.migrate import upgrade

PORTS = {"gateway": 8000, "hub": 8101, "post": 8102}


def _secret(var: Path, name: str) -> str:
    path = var / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def _webhook_key(var: Path) -> str:
    """The demo's own key for webhook secrets, made once like the other demo secrets."""
    path = var / "webhook-secrets-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(new_key() + "\n")
    return path.read_text().strip()


def _webhook_env(env: dict[str, str], var: Path) -> None:
    """The demo's own key for webhook secrets, and loopback counted as private: the demo portal's receivers run
    on this machine (docs/examples/receiver.py) and it is allowed private webhooks. Never production settings."""
    if "WEBHOOK_SECRETS_KEY" not in env and "WEBHOOK_SECRETS_KEY_FILE" not in env:
        env["WEBHOOK_SECRETS_KEY"] = _webhook_key(var)
    env.setdefault("WEBHOOK_PRIVATE_NETWORKS", "127.0.0.0/8")


def _wait_http(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}; see its log under var/logs/")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own local URL
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not answer at {url}")


def demo_env(var: Path) -> tuple[dict[str, str], dict[str, int]]:
    """The demo's settings: what the environment does not set, on this machine's loopback, secrets under ``var``."""
    env = dict(os.environ)
    ports = {name: int(env.get(f"{name.upper()}_PORT", port)) for name, port in PORTS.items()}
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{var / 'gateway.db'}")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{ports['gateway']}")
    env.setdefault("PAYHUB_URL", f"http://127.0.0.1:{ports['hub']}")
    env.setdefault("PAYHUB_PARTNER_CODE", "DVC-DEMO-01")
    # The postal sandbox and the gateway read the same POSTAL_* names: one login and one webhook secret for both.
    env.setdefault("POSTAL_URL", f"http://127.0.0.1:{ports['post']}")
    env.setdefault("POSTAL_USERNAME", "dvc-demo")
    env.setdefault("POSTAL_CUSTOMER_CODE", "DVC0001")
    env.setdefault("POSTAL_PASSWORD", _secret(var, "postal-password"))
    env.setdefault("POSTAL_WEBHOOK_SECRET", _secret(var, "postal-webhook-secret"))
    if "PAYHUB_HASH_KEY" not in env and "PAYHUB_HASH_KEY_FILE" not in env:
        env["PAYHUB_HASH_KEY"] = _secret(var, "payhub-hash-key")
    _webhook_env(env, var)
    env.setdefault("STAFF_COOKIE_SECURE", "false")  # the finance pages over plain http on this machine
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("RECEIPT_KEYS_DIR", str(var / "receipt-keys"))
    return env, ports


def sandbox_env(env: dict[str, str], settings: Settings, ports: dict[str, int]) -> None:
    """What the sandboxes need to call the gateway back."""
    env.update(
        {
            "HUB_PUBLIC_URL": f"http://127.0.0.1:{ports['hub']}",
            "PAYHUB_CALLBACK_URL": settings.callback_url,
            "PAYHUB_RETURN_URL": settings.return_url,
            "POSTAL_WEBHOOK_URL": f"{settings.public_url}/callbacks/postal",
        }
    )


def prepare(settings: Settings, var: Path) -> tuple[str, str]:
    """Migrations, the demo's signing key, its seeded portal and finance officer; the portal's id and API key (kept
    under ``var`` with the officer's password)."""
    upgrade(settings.database_url)
    demo.ensure_signing_key(Path(settings.receipt_keys_dir))
    key_file = var / "demo-api-key"
    known = key_file.read_text().strip() if key_file.exists() else None

    async def seed() -> tuple[str, str]:
        db = Database.from_url(settings.database_url)
        try:
            # secrets an older version sealed with a key derived from the hub's move to the demo's own key
            await reseal(db, SecretBox.from_settings(settings, [legacy_hub_key(settings.payhub_hash_key)]))
            found = await demo.seed(db, known)
            await demo.seed_staff(db, _secret(var, "demo-staff-password"))
            return found
        finally:
            await db.dispose()

    portal_id, api_key = asyncio.run(seed())
    if api_key != known:
        key_file.touch(mode=0o600)
        key_file.write_text(api_key + "\n")
    return portal_id, api_key


class Children:
    """The child processes, each logging to ``var/logs/<name>.log``; stopped together, last started first."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def add(self, name: str, process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.running.append((name, process))
        return process

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gateway", *args],
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=embedded.die_with_parent,
        )
        return self.add(name, process)

    def watch(self) -> None:
        """Until one of them exits (or Ctrl-C / SIGTERM)."""
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for _, p in self.running):
            time.sleep(0.5)
        dead = [name for name, p in self.running if p.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited; see {self.logs}/", file=sys.stderr)

    def stop(self) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.terminate()
        for _, process in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def banner(settings: Settings, env: dict[str, str], ports: dict[str, int], portal: tuple[str, str], var: Path) -> str:
    portal_id, api_key = portal
    logs = var / "logs"
    return f"""
Gateway          {settings.public_url}   (OpenAPI: {settings.public_url}/schema)
Hub sandbox      http://127.0.0.1:{ports["hub"]}
Postal sandbox   http://127.0.0.1:{ports["post"]}
Redis            {env["REDIS_URL"]}
Database         {settings.database_url}
Demo portal      {portal_id}
Demo agency      {demo.DEMO_AGENCY.code} ({demo.DEMO_AGENCY.name})
API key          {api_key}
Finance pages    {settings.public_url}/finance/
  username       {demo.DEMO_STAFF}
  password       {_secret(var, "demo-staff-password")}
Logs             {logs}/

Try it:  see README.md, "A payment by curl". Ctrl-C stops everything.
"""


def run_all(var: Path) -> None:
    var = var.resolve()
    logs = var / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env, ports = demo_env(var)
    children = Children(env, logs)
    if not embedded.answers(env["REDIS_URL"]):
        port = embedded.free_port()
        children.add("redis", embedded.start_redis(var / "redis", port))
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    settings = load(env)
    sandbox_env(env, settings, ports)
    portal = prepare(settings, var)
    try:
        hub = children.spawn("hub-sandbox", "sandbox", "hub", "--port", str(ports["hub"]))
        post = children.spawn("postal-sandbox", "sandbox", "post", "--port", str(ports["post"]))
        web = children.spawn("gateway", "serve", "--port", str(ports["gateway"]))
        children.spawn("worker", "worker")
        _wait_http(f"http://127.0.0.1:{ports['hub']}/control/health", hub, "hub sandbox")
        _wait_http(f"http://127.0.0.1:{ports['post']}/control/faults", post, "postal sandbox")
        _wait_http(f"{settings.public_url}/health/ready", web, "gateway")
        print(banner(settings, env, ports, portal, var), flush=True)
        children.watch()
    except KeyboardInterrupt:
        pass
    finally:
        children.stop()
