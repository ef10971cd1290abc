"""Receipts issued per second against raw RSA-2048 signatures per second, in one process on one core.

Issuing a receipt (checked data, XML built, validated against the XSD, signed with the XML signature
profile) should cost little more than its RSA signature: the target is a ratio of at least 0.8.

    .venv/bin/python bench/receipts_bench.py [--seconds 2] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from adapters.vntime import now_utc, to_vn
from receipts import (
    PAYMENT_ONLINE,
    Line,
    Organisation,
    Payer,
    ReceiptData,
    SigningKey,
    generate_demo,
    issue,
    verify,
)

COLLECTOR = Organisation("Ủy ban nhân dân phường Hoàn Kiếm", "0101234567", "Số 1 Hàng Bài, Hà Nội", "3511.0.1057341")


def rate(operation: Callable[[int], object], seconds: float) -> float:
    """Operations per second over about ``seconds`` of wall time."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        operation(count)
        count += 1
        if count % 16 == 0 and time.perf_counter() >= deadline:
            return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    key_pem, cert_pem = generate_demo("Benchmark", "Ủy ban nhân dân phường Hoàn Kiếm")
    key = SigningKey(serialization.load_pem_private_key(key_pem, None), x509.load_pem_x509_certificate(cert_pem))
    issued_at = now_utc()
    series = f"{to_vn(issued_at).year % 100:02d}T"
    message = b"x" * 1_000  # about the size of a receipt's SignedInfo

    def raw_signature(_: int) -> object:
        return key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def receipt(number: int) -> object:
        data = ReceiptData(
            template="EBL01",
            series=series,
            number=number % 9_999_999 + 1,
            issued_at=issued_at,
            lookup_code=f"HK{number:010d}",
            lookup_url=f"https://tracuu.example.vn/bien-lai/HK{number:010d}",
            payment_method=PAYMENT_ONLINE,
            collector=COLLECTOR,
            payer=Payer("Nguyễn Thị Hồng Nhung", id_number="001190012345"),
            lines=[
                Line(2, "LP-GCN", "Lệ phí cấp giấy chứng nhận", 100_000),
                Line(1, "P-TD", "Phí thẩm định hồ sơ", 50_000),
            ],
            dossier_code="000.00.01.H26-261122-0001",
            transaction_id=f"HUB{number:014d}",
        )
        return issue(data, key, issued_at)

    assert verify(receipt(1), trusted={COLLECTOR.tax_code: [key.certificate]}).valid  # the real thing, not a broken one
    raw_rates, receipt_rates = [], []
    for _ in range(args.runs):  # interleaved, so drift in the machine's speed affects both alike
        raw_rates.append(rate(raw_signature, args.seconds))
        receipt_rates.append(rate(receipt, args.seconds))
    raw, receipts = statistics.median(raw_rates), statistics.median(receipt_rates)
    print(f"raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures/s: {raw:,.0f}")
    print(f"receipts built, validated and signed/s:        {receipts:,.0f}")
    print(f"ratio: {receipts / raw:.3f} (median of {args.runs} runs of {args.seconds:g} s, one core)")


if __name__ == "__main__":
    main()
