"""The sandbox's settings from the environment, and the callback sender's faults and shutdown."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import msgspec
import pytest

from adapters.payhub import parse_confirm
from adapters.payhub.sandbox.callbacks import GAVE_UP, PENDING, CallbackSender, shape
from adapters.payhub.sandbox.config import SandboxConfig
from adapters.payhub.sandbox.faults import CallbackFaults, Faults
from adapters.payhub.sandbox.protocol import signed

KEY = "unit-key"


def confirm_body(amount: int = 150_000) -> dict[str, object]:
    return signed(
        "confirm",
        {
            "LoaiBanTin": "CONFIRM",
            "MaLoi": "00",
            "MaDoiTac": "P",
            "MaThamChieu": "REF-1",
            "SoTien": amount,
            "MaTienTe": "VND",
            "MaGiaoDich": "HUB1",
            "MaNganHang": "VCB",
            "ThoiGianGD": "20261122083512",
            "ThongTinGiaoDich": "",
        },
        KEY,
    )


def test_config_is_read_from_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file\n", encoding="utf-8")

    config = SandboxConfig.from_env(
        {
            "PAYHUB_HASH_KEY_FILE": str(key_file),
            "PAYHUB_CALLBACK_URL": "http://127.0.0.1:8000/cb",
            "HUB_TIME_SCALE": "0.001",
            "HUB_CALLBACK_TIMEOUT": "20",
        },
        default_public_url="http://127.0.0.1:8101/",
    )

    assert config.hash_key == "from-a-file"
    assert config.partner_code == "DVC-DEMO-01"
    assert config.public_url == "http://127.0.0.1:8101"
    assert config.retry_delays == pytest.approx((0.06, 0.3, 0.9, 3.6, 21.6))
    assert config.scaled_callback_timeout == 1.0  # 0.02 s would time out any real partner
    assert "from-a-file" not in repr(config)


@pytest.mark.parametrize(
    ("timeout", "scale", "expected"),
    [
        (10, 1.0, 10),
        (10, 0.2, 2),
        (10, 0.001, 1),
        (0.3, 0.1, 0.3),
    ],
)
def test_scaled_callback_timeout_keeps_a_floor(timeout: float, scale: float, expected: float) -> None:
    config = SandboxConfig(hash_key="k", callback_timeout=timeout, time_scale=scale)

    assert config.scaled_callback_timeout == pytest.approx(expected)


@pytest.mark.parametrize("env", [{}, {"PAYHUB_HASH_KEY": "k", "HUB_TIME_SCALE": "0"}])
def test_config_without_a_key_or_with_a_bad_scale_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        SandboxConfig.from_env(env)


def test_amount_fault_is_signed_and_checksum_fault_is_not() -> None:
    altered = shape(confirm_body(), CallbackFaults(alter_amount=-1_000), KEY)
    corrupted = shape(confirm_body(), CallbackFaults(bad_checksum=True), KEY)

    assert parse_confirm(msgspec.json.encode(altered), "P", KEY).amount == 149_000
    assert corrupted["MaXacThuc"] != confirm_body()["MaXacThuc"]
    assert len(corrupted["MaXacThuc"]) == 64


@pytest.mark.parametrize(
    "faults",
    [
        {"callback": {"repeat": 0}},
        {"callback": {"drop": -1}},
        {"init": {"http_status": 42}},
    ],
)
def test_impossible_faults_are_refused(faults: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        msgspec.convert(faults, Faults).validate()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_closing_the_sender_cancels_deliveries_waiting_on_the_ladder() -> None:
    config = SandboxConfig(hash_key=KEY, callback_url=f"http://127.0.0.1:{closed_port()}/cb", time_scale=1.0)
    sender = CallbackSender(config)
    [delivery] = sender.send("REF-1", confirm_body(), CallbackFaults(), drop=False)
    deadline = time.monotonic() + 5
    while not delivery.attempts or not delivery.attempts[0].error:
        assert time.monotonic() < deadline, "first attempt never finished"
        await asyncio.sleep(0.005)

    await asyncio.wait_for(sender.close(), timeout=5)

    assert delivery.status == PENDING  # waiting a minute for its first retry when it was cancelled
    assert [a.error for a in delivery.attempts] == ["ConnectError"]
    assert sender.active == 0


async def test_resend_without_an_answer_is_one_attempt() -> None:
    config = SandboxConfig(hash_key=KEY, callback_url=f"http://127.0.0.1:{closed_port()}/cb")
    sender = CallbackSender(config)
    try:
        delivery = await sender.resend("REF-1", confirm_body())
    finally:
        await sender.close()

    assert (delivery.status, len(delivery.attempts)) == (GAVE_UP, 1)
