"""The hub's ``MaXacThuc``: SHA-256 over the listed fields joined by ``|`` with the shared key appended.

It is not an HMAC; that is the hub's scheme. Every message kind lists its fields in ``FIELDS``: the one place
the order of a checksum lives.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

FIELDS: dict[str, tuple[str, ...]] = {
    "init": (
        "LoaiBanTin",
        "PhienBan",
        "MaDoiTac",
        "MaThamChieu",
        "SoTien",
        "LoaiHinhThanhToan",
        "MaKenhThanhToan",
        "MaThietBi",
        "NgonNgu",
        "MaTienTe",
        "MaNganHang",
        "ThongTinGiaoDich",
        "ThoiGianGD",
        "Ip",
    ),
    "init-reply": ("MaLoi", "MaThamChieu", "UrlThanhToan", "ThoiGianGD"),
    "confirm": (
        "LoaiBanTin",
        "MaLoi",
        "MaDoiTac",
        "MaThamChieu",
        "SoTien",
        "MaTienTe",
        "MaGiaoDich",
        "MaNganHang",
        "ThoiGianGD",
        "ThongTinGiaoDich",
    ),
    "confirm-ack": ("MaLoi", "MaDoiTac", "MaThamChieu", "ThoiGianGD"),
    "return": ("MaLoi", "MaThamChieu", "MaGiaoDich", "SoTien", "ThoiGianGD"),
    "getbill": ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD"),
    "getbill-reply": ("MaLoi", "MaThamChieu", "TrangThai", "SoTien", "MaGiaoDich", "ThoiGianThanhToan"),
    "refund": (
        "LoaiBanTin",
        "PhienBan",
        "MaDoiTac",
        "MaThamChieu",
        "MaGiaoDich",
        "MaYeuCauHoan",
        "SoTienHoan",
        "ThoiGianGD",
    ),
    "refund-reply": ("MaLoi", "MaYeuCauHoan", "TrangThai"),
    "settlement": ("MaDoiTac", "NgayQuyetToan", "ThoiGianGD"),
}

# Constant leading elements that are part of the checksum but not fields of the message.
PREFIX: dict[str, tuple[str, ...]] = {"return": ("RETURN",), "settlement": ("SETTLEMENT",)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # pragma: no cover - no boolean field is signed
        raise TypeError("booleans are not signed")
    return str(value)


def compute(values: Sequence[Any], key: str) -> str:
    """``lowercase hex(SHA-256(UTF-8(v1|…|vn|key)))``; a missing value counts as the empty string."""
    joined = "|".join([*(_text(v) for v in values), key])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def sign(kind: str, message: Mapping[str, Any], key: str) -> str:
    values = [*PREFIX.get(kind, ()), *(message.get(name) for name in FIELDS[kind])]
    return compute(values, key)


def verify(kind: str, message: Mapping[str, Any], key: str, given: str | None) -> bool:
    """Constant-time comparison; upper- or lower-case hex is accepted."""
    if not given or not isinstance(given, str):
        return False
    expected = sign(kind, message, key)
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii", "replace"))


def settlement_body_checksum(body: bytes, key: str) -> str:
    """``X-MaXacThuc`` of a settlement file: ``SHA-256(hex(SHA-256(body)) | key)``."""
    return compute([hashlib.sha256(body).hexdigest()], key)
