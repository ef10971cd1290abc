"""The break page's forms: assign (to oneself or another), unassign, resolve with a note, reopen.

Only an officer or an admin may change a break, and only one of the account's agencies; the form must carry the
version of the break it was read at. A form with a missing or malformed field answers with the field marked and
changes nothing, as does an assignee that is not an enabled officer or admin of the break's agency; a refusal of the
lifecycle (already resolved, changed meanwhile) is shown on the break's page.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from adapters.vntime import now_utc
from gateway.kernel.errors import Refused
from gateway.reconciliation import Staffer, assign_break, reopen_break, resolve_break, unassign_break
from gateway.staff import StaffMember, record
from gateway.store.db import Database

from . import access, forms
from .replies import break_page, not_found

ACTIONS = ("assign", "unassign", "resolve", "reopen")
REFUSALS = {
    "break_changed": "Chênh lệch vừa được người khác thay đổi. Trang đã được tải lại với trạng thái mới nhất.",
    "break_resolved": "Chênh lệch đã được xử lý; cần mở lại trước khi thay đổi.",
    "break_not_assigned": "Chênh lệch chưa được giao cho ai.",
    "break_not_resolved": "Chỉ mở lại được chênh lệch đã xử lý.",
    "invalid_request": "Dữ liệu gửi lên không hợp lệ.",
    "unknown_assignee": (
        "Chỉ giao được cho tài khoản cán bộ đối soát hoặc quản trị đang hoạt động của đơn vị có chênh lệch này."
    ),
}
FIELDS = {"note": "note", "assigned_to": "to"}  # a refusal's field → the form's
NOT_ALLOWED = "Tài khoản của bạn chỉ được xem, không được thay đổi chênh lệch. Không có gì thay đổi."


async def _refuse(db: Database, member: StaffMember, break_id: str, action: str, ip: str) -> None:
    """The refused attempt, in the account's own history: a break's history holds only what was done to it, and the
    id posted may be any text, or another agency's break."""
    async with db.unit() as uow:
        await record(
            uow.conn,
            at=now_utc(),
            actor=member.username,
            action="break.refused",
            subject_type="staff",
            subject_id=member.username,
            note=f"{action} {break_id[:64]!r}: role {member.role} may not change breaks",
            client_ip=ip,
        )


async def _apply(db: Database, who: Staffer, break_id: str, action: str, change: forms.BreakChange) -> None:
    if action == "assign":
        await assign_break(db, who, break_id, change.version, change.to or who.username)
    elif action == "unassign":
        await unassign_break(db, who, break_id, change.version)
    elif action == "resolve":
        await resolve_break(db, who, break_id, change.version, change.note)
    else:
        await reopen_break(db, who, break_id, change.version, change.note)


async def change_break(request: Request[Any, Any, Any], db: Database, break_id: str, action: str) -> Response[Any]:
    member, ip = access.member(request), access.client_ip(request)
    if action not in ACTIONS:
        return not_found(request)
    if not member.can_work_breaks:
        await _refuse(db, member, break_id, action, ip)
        return await break_page(request, break_id, 403, message=NOT_ALLOWED)
    fields, change = forms.break_change(await request.form(), action, member.username)
    if change is None:
        return await break_page(
            request,
            break_id,
            400,
            errors=fields.errors,
            values=fields.values,
            form=action,
            message="Biểu mẫu chưa hợp lệ, vui lòng sửa các ô được đánh dấu.",
        )
    try:
        await _apply(db, Staffer(member.username, member.scope, ip), break_id, action, change)
    except Refused as refused:
        if refused.code == "not_found":
            return not_found(request)
        message = REFUSALS.get(refused.code, str(refused))
        field = FIELDS.get(refused.field or "")
        errors = {field: message} if field else {}
        status = 400 if refused.code == "unknown_assignee" else 409  # a field to correct, not a conflict
        return await break_page(
            request, break_id, status, message=message, errors=errors, values=fields.values, form=action
        )
    return Redirect(f"/finance/breaks/{break_id}", status_code=303)
