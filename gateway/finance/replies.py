"""What several finance pages answer with: a break's page and the runs list (with a form's errors or a refusal),
not found."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from gateway.kernel.errors import Refused
from gateway.reconciliation import get_break, list_runs
from gateway.store.db import Database

from . import access, forms
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


async def runs_page(request: Request[Any, Any, Any], status: int = 200, **context: Any) -> Response[str]:
    """The runs the query's filters find, with the form to run a day by hand for those who may."""
    member = access.member(request)
    fields, where, cursor = forms.run_filter(request.query_params)
    items, next_cursor = [], None
    if where is not None:
        async with db_of(request).read() as conn:
            items, next_cursor = await list_runs(conn, member.scope, where, cursor, forms.PAGE)
    context.setdefault("errors", fields.errors)
    context.setdefault("values", {})
    context.setdefault("message", "")
    context.setdefault("queued", request.query_params.get("queued") == "1")
    return page(
        "runs.html",
        400 if fields.errors else status,
        member=member,
        nav="runs",
        title="Các lần đối soát",
        fields=fields,
        items=items,
        next_cursor=next_cursor,
        **context,
    )
