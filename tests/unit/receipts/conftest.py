from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from receipts import SigningKey, generate_demo

VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)  # fixed times in the tests fall inside the validity


@pytest.fixture(scope="session")
def demo_pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A demo agency's key and self-signed certificate as PEM files."""
    folder = tmp_path_factory.mktemp("agency")
    key_pem, cert_pem = generate_demo(
        "Demo ký biên lai", "Ủy ban nhân dân phường Hoàn Kiếm", 365 * 30, not_before=VALID_FROM
    )
    (folder / "key.pem").write_bytes(key_pem)
    (folder / "cert.pem").write_bytes(cert_pem)
    return folder / "key.pem", folder / "cert.pem"


@pytest.fixture(scope="session")
def signing_key(demo_pem: tuple[Path, Path]) -> SigningKey:
    return SigningKey.from_pem(*demo_pem)
