"""What the public check of an uploaded receipt tells a citizen: each check, passed or failed, in plain Vietnamese.

A file is a genuine receipt of ours only when every check holds, in this order: its signature is intact; the
certificate is one its agency holds or held (never merely one bearing its name); that certificate was valid when
it signed; the receipt is in our records with the very content that was signed; and it is still in force. The
first failure decides the headline; the checks after it are not made, so nothing is said about them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from adapters.vntime import to_vn
from receipts import Failure, Verification

from . import presenter
from .repository import ISSUED

NO_FILE = "không có tệp nào được gửi lên"
UNREADABLE_FORM = "không đọc được dữ liệu gửi lên"
NOT_CHECKED = "chưa kiểm tra, vì bước trước không đạt"


# Every check, in the order they are made, with how a citizen reads its name.
LABELS = {
    "signature": "Chữ ký số",
    "certificate": "Chứng thư số",
    "validity": "Hiệu lực chứng thư số lúc ký",
    "registry": "Đối chiếu với hệ thống",
    "status": "Tình trạng biên lai",
}


class State(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class Check:
    key: str
    state: State
    text: str

    @property
    def label(self) -> str:
        return LABELS[self.key]


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    headline: str
    checks: tuple[Check, ...] = ()
    receipt: Any = None  # the stored receipt, when the file is it
    replacement: Any = None


def refused(reason: str) -> Verdict:
    """No file to check: an empty form, a form we cannot read."""
    return Verdict(False, f"Tệp không hợp lệ: {reason}.")


def _verdict(genuine: bool, headline: str, checks: list[Check], row: Any = None, replacement: Any = None) -> Verdict:
    """The checks made, then the ones not made after the first failure."""
    made = {c.key for c in checks}
    rest = [Check(key, State.NOT_CHECKED, NOT_CHECKED) for key in LABELS if key not in made]
    return Verdict(genuine, headline, (*checks, *rest), row, replacement)


def _signature_checks(verification: Verification) -> list[Check]:
    failure = verification.failure
    when = to_vn(verification.signing_time).strftime("%H:%M:%S ngày %d/%m/%Y") if verification.signing_time else ""
    steps = (
        (
            "signature",
            failure in (Failure.UNREADABLE, Failure.UNSIGNED, Failure.BROKEN),
            "đúng, nội dung không bị thay đổi sau khi ký",
        ),
        (
            "certificate",
            failure is Failure.UNTRUSTED,
            f"là chứng thư số của đơn vị thu do hệ thống lưu giữ ({verification.subject})",
        ),
        ("validity", failure is Failure.NOT_VALID_AT_SIGNING, f"chứng thư số còn hiệu lực lúc ký ({when})"),
    )
    checks = []
    for key, fails, passed in steps:
        if fails:
            return [*checks, Check(key, State.FAILED, verification.explanation)]
        checks.append(Check(key, State.PASSED, passed))
    return checks


def _cancelled(row: Any, replacement: Any) -> str:
    if replacement is not None:
        return (
            f"đã bị hủy và được thay thế bởi biên lai ký hiệu {replacement.series}, số {replacement.number:07d}. "
            f"Lý do: {row.cancel_reason}"
        )
    return f"đã bị hủy. Lý do: {row.cancel_reason}"


def judge(
    verification: Verification, row: Any = None, stored: Verification | None = None, replacement: Any = None
) -> Verdict:
    """The verdict on an uploaded file, given the stored receipt with the file's signed lookup code (``row``, if
    any), that stored receipt's own verification (``stored``) and the receipt that replaced it, if any."""
    checks = _signature_checks(verification)
    if not verification.valid:
        return _verdict(False, f"Tệp không hợp lệ: {verification.explanation}.", checks)
    if row is None:
        text = "không tìm thấy biên lai này trong hệ thống"
        checks.append(Check("registry", State.FAILED, text))
        return _verdict(False, f"Không xác nhận được biên lai: chữ ký số đúng của đơn vị thu nhưng {text}.", checks)
    if stored is None or not stored.valid or stored.data_digest != verification.data_digest:
        text = "mã tra cứu có trong hệ thống nhưng nội dung khác với biên lai đã lưu"
        checks.append(Check("registry", State.FAILED, text))
        return _verdict(False, f"Tệp không hợp lệ: {text}.", checks)
    name = presenter.data_of(row).collector.name
    checks.append(
        Check(
            "registry",
            State.PASSED,
            f"có trong hệ thống: biên lai ký hiệu {row.series}, số {row.number:07d} của {name}",
        )
    )
    if row.status != ISSUED:
        text = _cancelled(row, replacement)
        checks.append(Check("status", State.FAILED, text))
        headline = f"Biên lai không còn hiệu lực: tệp đúng là biên lai của {name} nhưng biên lai {text}"
        return _verdict(False, headline, checks, row, replacement)
    checks.append(Check("status", State.PASSED, "đang có hiệu lực"))
    headline = f"Tệp hợp lệ: biên lai do {name} phát hành, có trong hệ thống và đang có hiệu lực."
    return _verdict(True, headline, checks, row)
