"""Who a finance page works for: the session cookie read back into a signed-in staff member, the sign-in page for
anyone else, and the CSRF check of every form sent.

The session cookie is HttpOnly, SameSite=Strict and Secure (``__Host-`` prefixed) unless the settings turn Secure
off for plain http on this machine. The sign-in form, sent before there is a session, carries a token of its own
that must match a cookie set with the form (a double submit), so no other site can sign a browser in either.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect

from adapters.vntime import now_utc
from gateway.settings import Settings
from gateway.staff import CSRF_FIELD, StaffMember, StaffSessions, csrf_matches, record

from .render import page

SIGN_IN = "/finance/sign-in"
HOME = "/finance/"


def cookie_name(settings: Settings, name: str) -> str:
    return f"__Host-{name}" if settings.staff_cookie_secure else name


def cookie(settings: Settings, name: str, value: str, *, expire: bool = False) -> Cookie:
    return Cookie(
        key=cookie_name(settings, name),
        value=value,
        path="/",
        httponly=True,
        secure=settings.staff_cookie_secure,
        samesite="strict",
        max_age=0 if expire else None,
    )


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.container.settings  # type: ignore[no-any-return]


def sessions_of(request: Request[Any, Any, Any]) -> StaffSessions:
    return request.app.state.container.staff_sessions  # type: ignore[no-any-return]


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def member(request: Request[Any, Any, Any]) -> StaffMember:
    """The signed-in staff member (set by ``guard`` before any finance handler runs)."""
    return request.state.member  # type: ignore[no-any-return]


def safe_next(path: object) -> str:
    """Where to go after signing in: a finance page of this site, never elsewhere."""
    if isinstance(path, str) and path.startswith("/finance/") and "//" not in path and "\\" not in path:
        return path
    return HOME


async def guard(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Every finance page's before-request hook: the sign-in page without a live session; a form without this
    session's CSRF token refused (403) before its handler runs, so it changes nothing."""
    settings = settings_of(request)
    token = request.cookies.get(cookie_name(settings, "finance_session"), "")
    found = await sessions_of(request).resume(token, now=now_utc())
    if found is None:
        target = request.url.path if request.method == "GET" else HOME
        if request.url.query:
            target += "?" + request.url.query
        return Redirect(f"{SIGN_IN}?next={quote(target, safe='')}", status_code=303)
    request.state.member = found
    if request.method != "POST":
        return None
    form = await request.form()
    if csrf_matches(found.csrf_token, form.get(CSRF_FIELD)):
        return None
    async with sessions_of(request).db.unit() as uow:
        await record(
            uow.conn,
            at=now_utc(),
            actor=found.username,
            action="csrf.refused",
            subject_type="page",
            subject_id=request.url.path[:64],
            client_ip=client_ip(request),
        )
    return page("message.html", 403, member=found, title="Yêu cầu bị từ chối", message=FORGED)


FORGED = (
    "Biểu mẫu không hợp lệ hoặc đã hết hạn (thiếu mã bảo vệ của phiên làm việc). Không có gì thay đổi. "
    "Vui lòng tải lại trang và thử lại."
)
