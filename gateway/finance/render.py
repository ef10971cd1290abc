"""Rendering the finance pages: one Jinja2 environment (autoescaped), Vietnamese formats for money, days and
times, and the HTML response every page is sent as (the app's middleware adds the security headers)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Response

from adapters.vntime import to_vn
from gateway.http.pages import HTML
from gateway.reconciliation import RESOLUTION_LABELS, STATUS_LABELS
from gateway.staff import ROLE_LABELS

KIND_LABELS = {"settlement": "Quyết toán Cổng thanh toán", "cod": "Thu hộ (COD) bưu điện"}
RUN_STATUS_LABELS = {"running": "Đang chạy", "completed": "Hoàn thành", "failed": "Thất bại"}
ACTION_LABELS = {
    "break.assigned": "Giao xử lý",
    "break.unassigned": "Bỏ giao",
    "break.resolved": "Đánh dấu đã xử lý",
    "break.reopened": "Mở lại",
    "break.cleared": "Tự động: tệp công bố lại không còn sai lệch",
    "break.settled_later": "Tự động: quyết toán trong tệp ngày sau",
    "break.facts_changed": "Tự động: tệp công bố lại thay đổi số liệu",
    "break.assignee_dropped": "Tự động: bỏ giao vì tài khoản không còn được xử lý chênh lệch này",
    "break.not_found_again": "Tự động: tệp công bố lại không còn dòng này (chờ nhân viên giải quyết)",
}


def money(value: int | None) -> str:
    """``1.234.567 ₫`` (đồng, dot-grouped, as written in Vietnam); an absent amount is a dash."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value):,} ₫".replace(",", ".")


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", ".")


def day(value: date | None) -> str:
    return "—" if value is None else value.strftime("%d/%m/%Y")


def moment(value: datetime | None) -> str:
    return "—" if value is None else to_vn(value).strftime("%d/%m/%Y %H:%M")


_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
_env.filters.update(money=money, number=number, day=day, moment=moment)
_env.globals.update(
    STATUS_LABELS=STATUS_LABELS,
    RESOLUTION_LABELS=RESOLUTION_LABELS,
    RUN_STATUS_LABELS=RUN_STATUS_LABELS,
    KIND_LABELS=KIND_LABELS,
    ACTION_LABELS=ACTION_LABELS,
    ROLE_LABELS=ROLE_LABELS,
)


def page(
    template: str,
    status: int = 200,
    cookies: list[Any] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    context.setdefault("member", None)
    context.setdefault("errors", {})
    context.setdefault("nav", "")
    context.setdefault("form", "")
    html = _env.get_template(template).render(**context)
    return Response(html, status_code=status, media_type=HTML, cookies=cookies, headers=headers)
