"""The finance pages under ``/finance/``: the dashboard, runs, breaks and a break's page with its forms. Every read
goes through ``gateway.reconciliation``'s read side with the signed-in member's agency scope; a run or break
outside it is as unknown as none."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from adapters.vntime import business_day, now_utc
from gateway.kernel.errors import Refused
from gateway.reconciliation import get_run, list_breaks
from reconciliation.reasons import BREAKS, label

from . import access, dashboard, forms, signin
from .changes import change_break
from .manual_runs import request_run
from .render import page
from .replies import break_page, db_of, not_found, runs_page

CODES = [(code.value, label(code.value)) for code in sorted(BREAKS)]


class FinancePages(Controller):
    path = "/finance"
    include_in_schema = False
    before_request = access.guard

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Response[str]:
        member = access.member(request)
        fields = forms.fields_of(request.query_params, ("agency", "day"))
        agency = fields.matching("agency", forms.AGENCY, "Mã đơn vị không hợp lệ")
        day = fields.day("day") or business_day(now_utc()) - timedelta(days=1)
        async with db_of(request).read() as conn:
            shown = await dashboard.shown(conn, member, agency, day)
        status = 400 if fields.errors else 200
        return page(
            "dashboard.html",
            status,
            member=member,
            nav="home",
            title="Tổng quan đối soát",
            shown=shown,
            fields=fields,
            errors=fields.errors,
        )

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await signin.sign_out(request)

    @get("/runs")
    async def runs(self, request: Request[Any, Any, Any]) -> Response[str]:
        return await runs_page(request)

    @post("/runs", status_code=303)
    async def run_by_hand(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return await request_run(request)

    @get("/runs/{run_id:str}")
    async def run(self, request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[str]:
        member = access.member(request)
        try:
            async with db_of(request).read() as conn:
                detail = await get_run(conn, member.scope, run_id)
        except Refused:
            return not_found(request)
        return page(
            "run.html", member=member, nav="runs", title=f"Lần đối soát ngày {detail.run.day:%d/%m/%Y}", detail=detail
        )

    @get("/breaks")
    async def breaks(self, request: Request[Any, Any, Any]) -> Response[str]:
        member = access.member(request)
        fields, where, cursor = forms.break_filter(request.query_params, member.username)
        items, next_cursor = [], None
        if where is not None:
            async with db_of(request).read() as conn:
                items, next_cursor = await list_breaks(conn, member.scope, where, cursor, forms.PAGE)
        return page(
            "breaks.html",
            400 if fields.errors else 200,
            member=member,
            nav="breaks",
            title="Chênh lệch cần xử lý",
            fields=fields,
            errors=fields.errors,
            items=items,
            next_cursor=next_cursor,
            codes=CODES,
            query=request.url.query,
        )

    @get("/breaks/{break_id:str}")
    async def item(self, request: Request[Any, Any, Any], break_id: FromPath[str]) -> Response[str]:
        return await break_page(request, break_id)

    @post("/breaks/{break_id:str}/{action:str}", status_code=200)
    async def change(
        self, request: Request[Any, Any, Any], break_id: FromPath[str], action: FromPath[str]
    ) -> Response[Any]:
        return await change_break(request, db_of(request), break_id, action)
