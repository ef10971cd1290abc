"""The sandbox's settings, read once from the environment, and its fixed numbers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PARTNER = "DVC-DEMO-01"
DEFAULT_PORT = 8101

# The callback retry ladder of the spec, in minutes after the previous attempt; HUB_TIME_SCALE shrinks it.
RETRY_LADDER_MINUTES = (1, 5, 15, 60, 360)

# Banks offered on the checkout page: code → name.
BANKS: dict[str, str] = {
    "VCB": "Ngân hàng TMCP Ngoại thương Việt Nam (Vietcombank)",
    "BIDV": "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam (BIDV)",
    "CTG": "Ngân hàng TMCP Công thương Việt Nam (VietinBank)",
    "VBA": "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam (Agribank)",
    "TCB": "Ngân hàng TMCP Kỹ thương Việt Nam (Techcombank)",
    "MB": "Ngân hàng TMCP Quân đội (MB)",
}
DEFAULT_BANK = "VCB"

# A scaled callback timeout never drops below this (seconds): a partner needs a moment to record a payment,
# whatever the scale, or every callback would time out and repeat.
MIN_CALLBACK_TIMEOUT = 1.0

# What the hub keeps per settled payment; refunds carry no fee.
TRANSACTION_FEE = 1_100
# A day's file is published at D+1 01:00 Vietnam time.
SETTLEMENT_PUBLISH_HOUR = 1
# Payments this close to midnight settle in the next day's file (late settlement).
LATE_SETTLEMENT_SECONDS = 5


@dataclass(frozen=True)
class SandboxConfig:
    hash_key: str
    partner_code: str = DEFAULT_PARTNER
    callback_url: str = ""
    return_url: str = ""
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    time_scale: float = 1.0
    callback_timeout: float = 10.0

    def __repr__(self) -> str:  # never print the key
        return f"SandboxConfig(partner_code={self.partner_code!r}, public_url={self.public_url!r})"

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """Seconds to wait before each retry of a callback, scaled."""
        return tuple(minutes * 60 * self.time_scale for minutes in RETRY_LADDER_MINUTES)

    @property
    def scaled_callback_timeout(self) -> float:
        """The timeout times the scale, but not below ``MIN_CALLBACK_TIMEOUT`` (or the unscaled timeout)."""
        floor = min(self.callback_timeout, MIN_CALLBACK_TIMEOUT)
        return max(self.callback_timeout * self.time_scale, floor)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, default_public_url: str = "") -> SandboxConfig:
        """Read the ``PAYHUB_*`` and ``HUB_*`` variables; the hash key is required (inline or from a file)."""
        env = os.environ if env is None else env
        key = env.get("PAYHUB_HASH_KEY", "")
        if not key and env.get("PAYHUB_HASH_KEY_FILE"):
            key = Path(env["PAYHUB_HASH_KEY_FILE"]).read_text(encoding="utf-8").strip()
        if not key:
            raise ValueError("PAYHUB_HASH_KEY or PAYHUB_HASH_KEY_FILE must be set")
        time_scale = float(env.get("HUB_TIME_SCALE", "1.0"))
        callback_timeout = float(env.get("HUB_CALLBACK_TIMEOUT", "10"))
        if time_scale <= 0 or callback_timeout <= 0:
            raise ValueError("HUB_TIME_SCALE and HUB_CALLBACK_TIMEOUT must be positive")
        return cls(
            hash_key=key,
            partner_code=env.get("PAYHUB_PARTNER_CODE", DEFAULT_PARTNER),
            callback_url=env.get("PAYHUB_CALLBACK_URL", ""),
            return_url=env.get("PAYHUB_RETURN_URL", ""),
            public_url=(env.get("HUB_PUBLIC_URL") or default_public_url or cls.public_url).rstrip("/"),
            time_scale=time_scale,
            callback_timeout=callback_timeout,
        )
