"""The real stack for integration and end-to-end tests: hub sandbox, gateway and worker as processes, on a
fresh PostgreSQL database or SQLite file, with Redis, talking real HTTP to one another."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.deliveries import new_key
from gateway.portals import service as portals
from gateway.portals import set_private_webhooks
from gateway.portals.service import AgencySpec, Fee, Procedure
from gateway.receipts.keys import ensure_demo_key
from gateway.store.db import Database
from gateway.store.migrate import upgrade_async

from .processes import Process
from .services import free_port

HASH_KEY = "test-hash-key-" + secrets.token_hex(8)
PARTNER = "DVC-TEST-01"
POSTAL_USER, POSTAL_PASSWORD, POSTAL_CUSTOMER = "gw-test", "gw-test-" + secrets.token_hex(8), "GWTEST01"
# The post signs with the new secret; the gateway accepts the new and the old one (a rotation in progress).
POSTAL_SECRET, POSTAL_OLD_SECRET = "postal-new-" + secrets.token_hex(8), "postal-old-" + secrets.token_hex(8)
NOT_POSTAL_PROCEDURE = "2.000123"
WEBHOOK_SECRETS_KEY = new_key()
# Test receivers listen on 127.0.0.2 (tests/support/webhook_receiver.py): the operator's setting makes that
# one address private, for portals allowed private webhooks; the rest of loopback stays refused, as in production.
RECEIVER_HOST = "127.0.0.2"

AGENCY = AgencySpec(
    code="000.00.01.H26",
    name="Ủy ban nhân dân phường Hoàn Kiếm",
    tax_code="0101234567",
    address="126 Hàng Trống, phường Hoàn Kiếm, thành phố Hà Nội",
    treasury_account="3511.0.1054321",
    treasury_bank_code="KBNN-HN",
    treasury_account_name="UBND phường Hoàn Kiếm",
    phone="024 3825 3536",
    province_code="01",
    commune_code="00070",
    procedures=(
        Procedure(
            code="1.001193",
            name="Cấp bản sao trích lục hộ tịch",
            service_code="DVC-HT-01",
            service_name="Hộ tịch",
            fees=(Fee("LP-HT-01", 2, "Lệ phí cấp bản sao trích lục", 8_000),),
        ),
        Procedure(
            code=NOT_POSTAL_PROCEDURE,
            name="Cấp giấy phép mang vũ khí thô sơ",
            fees=(Fee("LP-VK-01", 2, "Lệ phí cấp giấy phép", 50_000),),
            postal_allowed=False,
        ),
        Procedure(
            code="1.004227",
            name="Cấp giấy chứng nhận đăng ký hộ kinh doanh",
            service_code="DVC-KD-01",
            service_name="Đăng ký kinh doanh",
            fees=(
                Fee("LP-KD-01", 2, "Lệ phí đăng ký hộ kinh doanh", 100_000),
                Fee("PHI-KD-02", 1, "Phí cung cấp thông tin", None),
            ),
        ),
    ),
)
OTHER_AGENCY = AgencySpec(
    code="000.00.02.H26",
    name="Ủy ban nhân dân phường Ba Đình",
    tax_code="0101234568",
    address="Ba Đình, Hà Nội",
    treasury_account="3511.0.1054322",
    treasury_bank_code="KBNN-HN",
    treasury_account_name="UBND phường Ba Đình",
    procedures=(
        Procedure(
            code="1.001193",
            name="Cấp bản sao trích lục hộ tịch",
            fees=(Fee("LP-HT-01", 2, "Lệ phí cấp bản sao trích lục", 8_000),),
        ),
    ),
)


def payment_body(dossier: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dossier_code": dossier or f"000.00.01.H26-{secrets.token_hex(4)}",
        "procedure_code": "1.004227",
        "agency_code": AGENCY.code,
        "fees": [
            {"kind": "le_phi", "code": "LP-KD-01", "name": "Lệ phí đăng ký hộ kinh doanh", "amount": 100_000},
            {"kind": "phi", "code": "PHI-KD-02", "name": "Phí cung cấp thông tin", "amount": 50_000},
        ],
        "total": 150_000,
        "payer": {"name": "Nguyễn Thị Hồng Nhung", "id_number": "001203004567", "address": "12 Hàng Bạc, Hà Nội"},
        "return_url": "https://dichvucong.example.vn/ho-so/ket-qua",
        "client_ip": "203.0.113.7",
    }
    body.update(overrides)
    return body


@dataclass
class Stack:
    backend: str
    database_url: str
    redis_url: str
    workdir: Path
    queue: str = field(default_factory=lambda: f"gwtest:{secrets.token_hex(4)}")
    gateway_port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    post_port: int = field(default_factory=free_port)
    worker_metrics_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    api_key: str = ""
    other_api_key: str = ""
    log_level: str = "INFO"
    db: Database | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    @property
    def post_url(self) -> str:
        return f"http://127.0.0.1:{self.post_port}"

    @property
    def receipt_keys_dir(self) -> Path:
        return self.workdir / "receipt-keys"

    def gateway_env(self) -> dict[str, str]:
        return {
            "RECEIPT_KEYS_DIR": str(self.receipt_keys_dir),
            "RECEIPT_SWEEP_INTERVAL_SECONDS": "2",
            "RECEIPT_SWEEP_GRACE_SECONDS": "1",
            "RECEIPT_BATCH": "10",  # small batches, so a test can hold more sources than one batch cheaply
            "LOOKUP_RATE_LIMIT": "100000",
            "STAFF_SIGNIN_RATE_LIMIT": "100000",  # every browser test signs in from 127.0.0.1
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PUBLIC_URL": self.gateway_url,
            "PAYHUB_URL": self.hub_url,
            "PAYHUB_PARTNER_CODE": PARTNER,
            "PAYHUB_HASH_KEY": HASH_KEY,
            "PAYHUB_READ_TIMEOUT": "2",
            "QUEUE_NAME": self.queue,
            "PENDING_QUERY_AFTER_SECONDS": "1",
            "JANITOR_INTERVAL_SECONDS": "1",
            "MIN_PAYMENT_TTL_SECONDS": "1",
            "AUTH_CACHE_SECONDS": "0",
            "API_RATE_LIMIT": "1000000",
            "LOG_LEVEL": self.log_level,
            # event delivery on a compressed clock: the day of retries takes ~17 s, a lease 10 s
            "DELIVERY_TIME_SCALE": "0.0002",
            "DELIVERY_LEASE_SECONDS": "10",
            "WEBHOOK_TIMEOUT_SECONDS": "2",
            "WEBHOOK_CONNECT_TIMEOUT": "1",
            "WEBHOOK_SECRETS_KEY": WEBHOOK_SECRETS_KEY,
            "WEBHOOK_PRIVATE_NETWORKS": f"{RECEIVER_HOST}/32",
            "WORKER_METRICS_PORT": str(self.worker_metrics_port),
            "POSTAL_URL": self.post_url,
            "POSTAL_USERNAME": POSTAL_USER,
            "POSTAL_PASSWORD": POSTAL_PASSWORD,
            "POSTAL_CUSTOMER_CODE": POSTAL_CUSTOMER,
            "POSTAL_WEBHOOK_SECRET": f"{POSTAL_SECRET},{POSTAL_OLD_SECRET}",
            "POSTAL_READ_TIMEOUT": "2",
            "POSTAL_POLL_INTERVAL_SECONDS": "1",
            "POSTAL_PAGE_SIZE": "50",
            "POSTAL_BOOKING_RETRY_AFTER_SECONDS": "2",
            "STAFF_COOKIE_SECURE": "false",  # the finance pages over plain http on loopback
        }

    def hub_env(self) -> dict[str, str]:
        return {
            "PAYHUB_PARTNER_CODE": PARTNER,
            "PAYHUB_HASH_KEY": HASH_KEY,
            "PAYHUB_CALLBACK_URL": f"{self.gateway_url}/callbacks/payhub",
            "PAYHUB_RETURN_URL": f"{self.gateway_url}/payments/return",
            "HUB_PUBLIC_URL": self.hub_url,
            "HUB_TIME_SCALE": "0.002",
            "HUB_CALLBACK_TIMEOUT": "10",
        }

    def post_env(self) -> dict[str, str]:
        """The postal sandbox: pushes every event to the gateway; the driver is off, tests move the parcels."""
        return {
            "POSTAL_USERNAME": POSTAL_USER,
            "POSTAL_PASSWORD": POSTAL_PASSWORD,
            "POSTAL_CUSTOMER_CODE": POSTAL_CUSTOMER,
            "POSTAL_WEBHOOK_URL": f"{self.gateway_url}/callbacks/postal",
            "POSTAL_WEBHOOK_SECRET": POSTAL_SECRET,
            "POSTAL_TOKEN_TTL": "3600",
            "POSTAL_TIME_SCALE": "0.01",
            "POSTAL_DRIVER": "off",
        }

    async def start(self) -> Stack:
        await upgrade_async(self.database_url)
        self.db = Database.from_url(self.database_url)
        await portals.upsert_agency(self.db, AGENCY)
        await portals.upsert_agency(self.db, OTHER_AGENCY)
        portal_id, self.api_key = await portals.create_portal(self.db, "Cổng DVC thử nghiệm", [AGENCY.code])
        # the operator's consent for the test receivers on RECEIVER_HOST, a private address (see above)
        assert await set_private_webhooks(self.db, portal_id, True)
        _, self.other_api_key = await portals.create_portal(self.db, "Cổng DVC khác", [OTHER_AGENCY.code])
        ensure_demo_key(self.receipt_keys_dir, AGENCY.code, AGENCY.name)  # OTHER_AGENCY has no key: it cannot issue
        self.processes["hub"] = Process(
            f"hub-{self.backend}",
            ["adapters.payhub.sandbox", "--host", "127.0.0.1", "--port", str(self.hub_port)],
            self.hub_env(),
            self.workdir,
        ).start()
        self.processes["post"] = Process(
            f"post-{self.backend}",
            ["adapters.postal.sandbox", "--host", "127.0.0.1", "--port", str(self.post_port)],
            self.post_env(),
            self.workdir,
        ).start()
        self.processes["gateway"] = Process(
            f"gateway-{self.backend}",
            ["gateway", "serve", "--port", str(self.gateway_port)],
            self.gateway_env(),
            self.workdir,
        ).start()
        self.start_worker()
        self.processes["hub"].wait_http(f"{self.hub_url}/control/health")
        self.processes["post"].wait_http(f"{self.post_url}/control/clock")
        self.processes["gateway"].wait_http(f"{self.gateway_url}/health/live")
        return self

    def start_gateway(self, name: str, **env: str) -> tuple[Process, str]:
        """Another gateway process on the same database and Redis (settings overridden by ``env``); its URL."""
        port = free_port()
        process = Process(
            f"{name}-{self.backend}",
            ["gateway", "serve", "--port", str(port)],
            {**self.gateway_env(), **env},
            self.workdir,
        ).start()
        url = f"http://127.0.0.1:{port}"
        process.wait_http(f"{url}/health/live")
        return process, url

    def command(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The ``gateway`` command with this stack's settings."""
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            env={**os.environ, **self.gateway_env(), **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start_worker(self) -> Process:
        worker = Process(f"worker-{self.backend}", ["gateway", "worker"], self.gateway_env(), self.workdir).start()
        self.processes["worker"] = worker
        return worker

    async def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        if self.db is not None:
            await self.db.dispose()

    def client(self, api_key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.gateway_url,
            timeout=30,
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
        )

    def hub(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.hub_url, timeout=30)

    def post(self) -> httpx.AsyncClient:
        """The postal sandbox (its control API is under ``/control``)."""
        return httpx.AsyncClient(base_url=self.post_url, timeout=30)
