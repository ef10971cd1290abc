"""The finance exports: a run, the breaks a list shows, and the day totals, as CSV or XLSX, each written by
``gateway.reconciliation``'s exports within the member's scope, spooled to a temporary file and streamed. Every
download is an audit entry."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import IO, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Stream

from adapters.vntime import business_day, now_utc
from gateway.http.pages import DOCUMENT_HEADERS
from gateway.kernel.errors import Refused
from gateway.reconciliation import (
    EXPORT_FORMATS,
    BreakFilter,
    daily_totals,
    export_filename,
    get_run,
    stream_breaks,
    write_breaks,
    write_run,
    write_totals,
)
from gateway.staff import StaffMember, record

from . import access, forms
from .render import page
from .replies import db_of, not_found

MEDIA_TYPES = EXPORT_FORMATS
CHUNK = 64 * 1024
Writer = Callable[[Any, IO[bytes]], Awaitable[int]]


async def _chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


async def _send(request: Request[Any, Any, Any], subject: str, fmt: str, name: str, write: Writer) -> Response[Any]:
    """Write the export in one read of the database, audit it, and stream the file."""
    member: StaffMember = access.member(request)
    spool = tempfile.TemporaryFile()  # closed by the stream once sent
    try:
        async with db_of(request).read() as conn:
            rows = await write(conn, spool)
    except Refused:
        spool.close()
        return not_found(request)
    async with db_of(request).unit() as uow:
        await record(
            uow.conn,
            at=now_utc(),
            actor=member.username,
            action="export.downloaded",
            subject_type="export",
            subject_id=subject[:64],
            note=f"{fmt}, {rows} row(s), {request.url.query}"[:2000],
            client_ip=access.client_ip(request),
        )
    spool.seek(0)
    headers = {**DOCUMENT_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Stream(_chunks(spool), media_type=MEDIA_TYPES[fmt], headers=headers)


def _bad_filter(request: Request[Any, Any, Any], errors: dict[str, str]) -> Response[str]:
    wrong = ", ".join(f"{name}: {text}" for name, text in errors.items())
    return page("message.html", 400, member=access.member(request), title="Bộ lọc không hợp lệ", message=wrong)


class FinanceExports(Controller):
    path = "/finance/exports"
    include_in_schema = False
    before_request = access.guard

    @get("/breaks/{fmt:str}")
    async def breaks(self, request: Request[Any, Any, Any], fmt: FromPath[str]) -> Response[Any]:
        if fmt not in MEDIA_TYPES:
            return not_found(request)
        member = access.member(request)
        fields, where, _ = forms.break_filter(request.query_params, member.username)
        if where is None:
            return _bad_filter(request, fields.errors)

        async def write(conn: Any, out: IO[bytes]) -> int:
            return await write_breaks(stream_breaks(conn, member.scope, where), out, fmt)

        return await _send(request, "breaks", fmt, export_filename("sai-lech", fmt), write)

    @get("/totals/{fmt:str}")
    async def totals(self, request: Request[Any, Any, Any], fmt: FromPath[str]) -> Response[Any]:
        if fmt not in MEDIA_TYPES:
            return not_found(request)
        member = access.member(request)
        yesterday = business_day(now_utc()) - timedelta(days=1)
        fields, days, agency = forms.totals_range(request.query_params, yesterday)
        if days is None:
            return _bad_filter(request, fields.errors)

        async def write(conn: Any, out: IO[bytes]) -> int:
            return await write_totals(await daily_totals(conn, member.scope, days, agency), out, fmt)

        return await _send(request, "totals", fmt, export_filename("tong-hop", fmt, days.last), write)

    @get("/runs/{run_id:str}/{fmt:str}")
    async def run(self, request: Request[Any, Any, Any], run_id: FromPath[str], fmt: FromPath[str]) -> Response[Any]:
        if fmt not in MEDIA_TYPES or not forms.ID.fullmatch(run_id):
            return not_found(request)
        member = access.member(request)

        async def write(conn: Any, out: IO[bytes]) -> int:
            detail = await get_run(conn, member.scope, run_id)
            rows = stream_breaks(conn, member.scope, BreakFilter(run_id=run_id))
            return await write_run(detail, rows, out, fmt)

        return await _send(request, run_id, fmt, export_filename(f"lan-{run_id}", fmt), write)
