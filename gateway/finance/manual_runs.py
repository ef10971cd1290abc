"""Running a day's reconciliation by hand from the runs page: an admin of every agency picks the kind and the day,
and the worker runs it (queued, as the morning's runs are), recorded as manual and started by them. Asked twice in
the same minute, it is queued once; the request is an audit entry."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Redirect

from adapters.vntime import business_day, now_utc
from gateway.staff import record

from . import access, forms
from .replies import db_of, runs_page

NOT_ALLOWED = "Chỉ quản trị viên của mọi đơn vị được chạy đối soát. Không có gì thay đổi."
NOT_QUEUED = "Chưa gửi được yêu cầu tới hàng đợi (không phản hồi). Không có gì thay đổi, vui lòng thử lại sau."


async def _audit(request: Request[Any, Any, Any], action: str, subject: str, note: str = "") -> None:
    member = access.member(request)
    async with db_of(request).unit() as uow:
        await record(
            uow.conn,
            at=now_utc(),
            actor=member.username,
            action=action,
            subject_type="run",
            subject_id=subject[:64],
            note=note,
            client_ip=access.client_ip(request),
        )


async def request_run(request: Request[Any, Any, Any]) -> Response[Any]:
    member = access.member(request)
    if not member.can_run:
        await _audit(request, "run.refused", "", f"role {member.role} may not run a reconciliation")
        return await runs_page(request, 403, message=NOT_ALLOWED)
    now = now_utc()
    fields, kind, day = forms.run_request(await request.form(), business_day(now))
    if kind is None or day is None:
        return await runs_page(
            request,
            400,
            errors=fields.errors,
            values=fields.values,
            message="Biểu mẫu chưa hợp lệ, vui lòng sửa các ô được đánh dấu.",
        )
    jobs = request.app.state.container.jobs
    try:
        await jobs.reconcile(kind, day.isoformat(), member.username, f"{now:%Y%m%d%H%M}")
    except Exception:
        return await runs_page(request, 503, values=fields.values, message=NOT_QUEUED)
    await _audit(request, "run.requested", f"{kind}:{day.isoformat()}")
    return Redirect(f"/finance/runs?kind={kind}&from={day.isoformat()}&to={day.isoformat()}&queued=1", status_code=303)
