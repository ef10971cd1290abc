"""Signing in to the finance pages, and out.

Every sign-in sent with the form's token counts against its client address's budget (``STAFF_SIGNIN_RATE_LIMIT``
per ``STAFF_SIGNIN_RATE_WINDOW_SECONDS``, shared by every process through Redis) before its fields are looked at:
over it, the page answers 429 with Retry-After, checks no password and changes nothing. A post without the token
(another site's form, sent by a staff member's browser) is refused first and spends nothing, so no other site can
use up an office's budget and keep its staff out. The address is the connection's
peer, as for the lookup pages; no header a client sends can change it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from adapters.vntime import now_utc
from gateway.http.ratelimit import address_key
from gateway.staff import CSRF_FIELD, SignInRefused, csrf_matches, new_csrf_token

from . import access
from .forms import fields_of
from .render import page

TITLE = "Đăng nhập — Đối soát tài chính"
SIGN_IN_COOKIE = "finance_signin"


def too_many(wait: int) -> str:
    return f"Có quá nhiều lần đăng nhập từ địa chỉ này. Vui lòng thử lại sau {-(-wait // 60)} phút."


def _form(
    request: Request[Any, Any, Any], status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> Response[str]:
    """The sign-in form with a fresh token, in the form and in its cookie."""
    settings = access.settings_of(request)
    token = new_csrf_token()
    context.setdefault("values", {"username": ""})
    return page(
        "sign_in.html",
        status,
        headers=headers,
        cookies=[access.cookie(settings, SIGN_IN_COOKIE, token)],
        title=TITLE,
        csrf_token=token,
        next=access.safe_next(request.query_params.get("next")),
        **context,
    )


async def _wait(request: Request[Any, Any, Any]) -> int:
    """The seconds this client address must wait before signing in again (0: it may go on); counts this one."""
    container = request.app.state.container
    wait: int = await container.signin_limiter.retry_after(container.redis, address_key(access.client_ip(request)))
    return wait


class SignInController(Controller):
    path = "/finance"
    include_in_schema = False

    @get("/sign-in")
    async def form(self, request: Request[Any, Any, Any]) -> Response[str]:
        return _form(request, message="")

    @post("/sign-in", status_code=200)
    async def sign_in(self, request: Request[Any, Any, Any]) -> Response[Any]:
        settings = access.settings_of(request)
        form = await request.form()
        expected = request.cookies.get(access.cookie_name(settings, SIGN_IN_COOKIE), "")
        if not csrf_matches(expected, form.get(CSRF_FIELD)):  # a forged post (another site's) spends no budget
            return _form(request, 403, message=access.FORGED)
        wait = await _wait(request)
        if wait:
            return _form(request, 429, headers={"Retry-After": str(wait)}, message=too_many(wait))
        fields = fields_of(form, ("username", "password", "next"))
        for name, text in (("username", "Nhập tên đăng nhập"), ("password", "Nhập mật khẩu")):
            if not fields.values[name]:
                fields.errors[name] = text
        if fields.errors:
            return _form(request, 400, message="", errors=fields.errors, values={"username": fields.values["username"]})
        try:
            signed = await access.sessions_of(request).sign_in(
                fields.values["username"], fields.values["password"], client_ip=access.client_ip(request), now=now_utc()
            )
        except SignInRefused as refused:  # one answer, whatever the reason: it tells no account's state
            return _form(request, 401, message=refused.message, values={"username": fields.values["username"]})
        cookies = [
            access.cookie(settings, "finance_session", signed.token),
            access.cookie(settings, SIGN_IN_COOKIE, "", expire=True),
        ]
        return Redirect(access.safe_next(fields.values["next"]), status_code=303, cookies=cookies)


async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session (the CSRF check already passed) and forget its cookie."""
    settings = access.settings_of(request)
    await access.sessions_of(request).sign_out(
        access.member(request), client_ip=access.client_ip(request), now=now_utc()
    )
    cookies = [access.cookie(settings, "finance_session", "", expire=True)]
    return Redirect(access.SIGN_IN, status_code=303, cookies=cookies)
