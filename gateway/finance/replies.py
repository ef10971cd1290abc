"""What several finance pages answer with: a break's page (with a form's errors or a refusal), not found."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from gateway.kernel.errors import Refused
from gateway.reconciliation import get_break
from gateway.store.db import Database

from . import access
from .render import page

NOT_FOUND = "Không tìm thấy, hoặc không thuộc các đơn vị của tài khoản."


def not_found(request: Request[Any, Any, Any]) -> Response[str]:
    return page("message.html", 404, member=access.member(request), title="Không tìm thấy", message=NOT_FOUND)


def db_of(request: Request[Any, Any, Any]) -> Database:
    return request.app.state.container.db  # type: ignore[no-any-return]


async def break_page(
    request: Request[Any, Any, Any], break_id: str, status: int = 200, **context: Any
) -> Response[str]:
    member = access.member(request)
    try:
        async with db_of(request).read() as conn:
            detail = await get_break(conn, member.scope, break_id)
    except Refused:
        return not_found(request)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("message", "")
    return page(
        "break.html",
        status,
        member=member,
        nav="breaks",
        title=f"Chênh lệch: {detail.item.label}",
        detail=detail,
        **context,
    )
