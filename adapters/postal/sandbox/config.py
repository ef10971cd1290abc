"""The postal sandbox's settings, read once from the environment, and its fixed numbers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 8102
DEFAULT_USERNAME = "dvc-demo"
DEFAULT_PASSWORD = "dvc-demo-password"  # noqa: S105 (the sandbox's published demo login)
DEFAULT_CUSTOMER_CODE = "DVC0001"
DEFAULT_WEBHOOK_SECRET = "postal-sandbox-secret"  # noqa: S105 (demo value, overridden by the environment)

# Push webhook: non-2xx replies are retried 10 times, 5 s apart (scaled by POSTAL_TIME_SCALE).
WEBHOOK_RETRIES = 10
WEBHOOK_RETRY_SECONDS = 5.0
WEBHOOK_TIMEOUT_SECONDS = 10.0
# The driver moves every active order one step this often (scaled).
DRIVER_STEP_SECONDS = 60.0

# Postage in đồng: first 500 g, then each started 500 g; express costs half as much again.
POSTAGE_FIRST_500G = 16_500
POSTAGE_EACH_500G = 2_500
EXPRESS_PERCENT = 150
# COD collection fee kept by the post: 0.8 % of the amount, at least 10,000 đ, never more than the amount.
COD_FEE_PER_MILLE = 8
COD_FEE_MINIMUM = 10_000

# Item code prefixes (S10 service indicators) per service.
ITEM_PREFIX = {"HCC": "EB", "HCC-EXP": "EA"}


@dataclass(frozen=True)
class SandboxConfig:
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    customer_code: str = DEFAULT_CUSTOMER_CODE
    token_ttl: int = 3600
    webhook_url: str = ""
    webhook_secrets: tuple[str, ...] = (DEFAULT_WEBHOOK_SECRET,)
    time_scale: float = 1.0
    driver: bool = False

    def __repr__(self) -> str:  # never print the password or secrets
        return f"SandboxConfig(username={self.username!r}, webhook_url={self.webhook_url!r})"

    @property
    def retry_spacing(self) -> float:
        return WEBHOOK_RETRY_SECONDS * self.time_scale

    @property
    def driver_step(self) -> float:
        return DRIVER_STEP_SECONDS * self.time_scale

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SandboxConfig:
        """``POSTAL_USERNAME``, ``POSTAL_PASSWORD``, ``POSTAL_CUSTOMER_CODE``, ``POSTAL_TOKEN_TTL``,
        ``POSTAL_WEBHOOK_URL``, ``POSTAL_WEBHOOK_SECRET`` (comma-separated during rotation),
        ``POSTAL_TIME_SCALE`` and ``POSTAL_DRIVER`` (on/off)."""
        env = os.environ if env is None else env
        secrets = tuple(s for s in env.get("POSTAL_WEBHOOK_SECRET", "").split(",") if s)
        return cls(
            username=env.get("POSTAL_USERNAME", DEFAULT_USERNAME),
            password=env.get("POSTAL_PASSWORD", DEFAULT_PASSWORD),
            customer_code=env.get("POSTAL_CUSTOMER_CODE", DEFAULT_CUSTOMER_CODE),
            token_ttl=int(env.get("POSTAL_TOKEN_TTL", "3600")),
            webhook_url=env.get("POSTAL_WEBHOOK_URL", ""),
            webhook_secrets=secrets or (DEFAULT_WEBHOOK_SECRET,),
            time_scale=float(env.get("POSTAL_TIME_SCALE", "1")),
            driver=env.get("POSTAL_DRIVER", "off").lower() in ("on", "1", "true", "yes"),
        )


def postage(weight_grams: int, service_code: str) -> int:
    steps = max(0, -(-(weight_grams - 500) // 500))
    fee = POSTAGE_FIRST_500G + steps * POSTAGE_EACH_500G
    return fee * EXPRESS_PERCENT // 100 if service_code == "HCC-EXP" else fee


def cod_fee(amount: int) -> int:
    return min(amount, max(COD_FEE_MINIMUM, amount * COD_FEE_PER_MILLE // 1000))
