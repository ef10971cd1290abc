"""The public receipt lookup (tra cứu biên lai), in Vietnamese, for anyone holding a receipt's lookup code.

``/tra-cuu`` offers a form for the code and one for checking an XML file; ``/tra-cuu/{code}`` shows the receipt,
whether its signature verifies, whether it was cancelled or replaced (and by which), with the XML and the PDF.
A wrong code, well-formed or not, gets the same 404 page: the page says nothing without the right code. Every
route is rate limited per client address (``RateLimiter``), and an uploaded file is read by the hardened parser
and checked by ``receipts.verify``, which answers "invalid" rather than failing on anything it is given.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect

from gateway.services import services
from receipts import Verification, parse, to_html, verify
from receipts.schema import MAX_DOCUMENT_BYTES

from . import views
from .controller import document_response, pdf_of
from .ratelimit import RateLimiter

log = logging.getLogger("gateway.receipts")

LOOKUP_CODE = re.compile(r"[A-Z2-7]{16}")
HTML = "text/html; charset=utf-8"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NOT_FOUND = "Không tìm thấy biên lai với mã tra cứu này. Vui lòng kiểm tra lại mã in trên biên lai."

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


def page(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Response[str]:
    html = _pages.get_template(template).render(**context)
    return Response(html, status_code=status, media_type=HTML, headers={**HEADERS, **(headers or {})})


def not_found() -> Response[str]:
    return page("lookup.html", 404, title="Tra cứu biên lai điện tử", message=NOT_FOUND)


async def limit(request: Request[Any, Any, Any]) -> Response[str] | None:
    """The before-request hook of every lookup route: a 429 page once the client's budget is spent."""
    svc = services(request)
    cfg = svc.settings
    limiter = RateLimiter(f"{cfg.queue_name}:lookup-rate", cfg.lookup_rate_limit, cfg.lookup_rate_window_seconds)
    client = request.client.host if request.client else "unknown"
    wait = await limiter.retry_after(svc.redis, client)
    if not wait:
        return None
    return page(
        "lookup.html",
        429,
        headers={"Retry-After": str(wait)},
        title="Quá nhiều yêu cầu",
        message=f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
    )


def _state(row: Any) -> str:
    if row.status == views.ISSUED:
        return "Biên lai đã được phát hành và đang có hiệu lực."
    if row.replaced_by_id:
        return f"Biên lai đã bị hủy và được thay thế bởi biên lai khác. Lý do: {row.cancel_reason}"
    return f"Biên lai đã bị hủy. Lý do: {row.cancel_reason}"


def _signature(verification: Verification) -> str:
    if verification.valid:
        return f"Chữ ký số hợp lệ: biên lai do {verification.subject} ký, nội dung không bị thay đổi."
    return f"Chữ ký số không hợp lệ: {verification.reason}"


async def _row(request: Request[Any, Any, Any], code: str) -> Any:
    if not LOOKUP_CODE.fullmatch(code):
        return None
    async with services(request).db.read() as conn:
        return await views.by_lookup_code(conn, code)


class LookupController(Controller):
    path = "/tra-cuu"
    include_in_schema = False
    before_request = limit

    @get("/")
    async def form(self, request: Request[Any, Any, Any]) -> Response[str] | Redirect:
        code = request.query_params.get("ma")
        if isinstance(code, str) and code.strip():
            normal = re.sub(r"[\s-]", "", code).upper()
            if LOOKUP_CODE.fullmatch(normal):
                return Redirect(f"/tra-cuu/{normal}", status_code=303)
            return not_found()
        return page("lookup.html", title="Tra cứu biên lai điện tử", message="")

    @get("/{code:str}")
    async def show(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Response[str]:
        row = await _row(request, code)
        if row is None:
            return not_found()
        async with services(request).db.read() as conn:
            replacement = await views.load(conn, row.replaced_by_id) if row.replaced_by_id else None
            replaces = await views.load(conn, row.replaces_id) if row.replaces_id else None
        verification = verify(row.xml)
        receipt_html = await asyncio.to_thread(to_html, views.data_of(row), verification)
        banner = _pages.get_template("banner.html").render(
            code=row.lookup_code,
            live=row.status == views.ISSUED,
            state=_state(row),
            verification=verification,
            signature=_signature(verification),
            replacement=replacement,
            replaces=replaces,
        )
        html = receipt_html.replace("<body>", f"<body>{banner}", 1)
        return Response(html, media_type=HTML, headers=HEADERS)

    @get("/{code:str}/bien-lai.xml")
    async def xml(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
        row = await _row(request, code)
        if row is None:
            return not_found()
        return document_response(row, "xml", disposition="attachment")

    @get("/{code:str}/bien-lai.pdf")
    async def pdf(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
        row = await _row(request, code)
        if row is None:
            return not_found()  # type: ignore[return-value]
        return document_response(row, "pdf", await asyncio.to_thread(pdf_of, row), disposition="attachment")

    @post("/kiem-tra", status_code=200)
    async def check(self, request: Request[Any, Any, Any]) -> Response[str]:
        """Verify an uploaded receipt XML; any file at all gets a verdict page, never a server error."""
        title = "Kết quả kiểm tra biên lai điện tử"
        try:
            form = await request.form()
            upload = form.get("tep")
            document = await upload.read(MAX_DOCUMENT_BYTES + 1) if isinstance(upload, UploadFile) else b""
        except Exception:  # a malformed form is the sender's problem, answered like a bad file
            document = b""
        if not document:
            return page("verified.html", 400, title=title, verification=Verification(False), reason="không có tệp")
        verification, code = await asyncio.to_thread(_verify_upload, document)
        receipt = await _row(request, code) if code else None
        registered = ""
        if receipt is not None:
            registered = "có trong hệ thống" + ("" if receipt.status == views.ISSUED else " nhưng đã bị hủy")
        return page(
            "verified.html",
            title=title,
            verification=verification,
            reason=verification.reason,
            receipt=receipt,
            registered=registered,
        )


def _verify_upload(document: bytes) -> tuple[Verification, str]:
    """The verdict on an uploaded file, and its lookup code when the signature holds."""
    try:
        verification = verify(document)
        code = (parse(document).findtext("DLBLai/TTChung/MTCuu") or "") if verification.valid else ""
    except Exception as error:  # verify() answers invalid for bad input; this guards the page against the rest
        log.warning("uploaded receipt not readable", extra={"error": str(error)})
        return Verification(False, reason="không đọc được tệp"), ""
    return verification, code
