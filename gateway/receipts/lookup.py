"""The public receipt lookup (tra cứu biên lai), in Vietnamese, for anyone holding a receipt's lookup code.

``/tra-cuu`` offers a form for the code and one for checking an XML file; ``/tra-cuu/{code}`` shows the receipt,
whether its signature verifies against its agency's certificates, whether it was cancelled or replaced (and by
which), with the XML and the PDF. A code is read the same way wherever it is typed (``lookup_code``); a wrong code,
well-formed or not, gets the same 404 page. An uploaded file is read by the hardened parser, checked against the
certificates we hold for the agency it names, and, only once its signature holds, compared with our record under
the lookup code it signed. Every route is rate limited per client address (``RateLimiter``). Renderings mask the
payer's id number; the signed XML is served as it was signed.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath
from litestar.response import Redirect

from gateway.http.pages import HTML
from gateway.http.ratelimit import address_key
from gateway.store.db import Database
from receipts import Verification, to_html
from receipts.schema import MAX_DOCUMENT_BYTES

from . import presenter, verdict
from .controller import document_response, pdf_of
from .public import ReceiptLookup, lookup_code
from .repository import ISSUED, StoredReceipt

log = logging.getLogger("gateway.receipts")

# A receipt file may be as large as the receipt format allows, plus the multipart form around it.
UPLOAD_LIMIT = MAX_DOCUMENT_BYTES + 64 * 1024
NOT_FOUND = "Không tìm thấy biên lai với mã tra cứu này. Vui lòng kiểm tra lại mã in trên biên lai."
TOO_LARGE = (
    f"tệp quá lớn: một biên lai điện tử không vượt quá {MAX_DOCUMENT_BYTES // 1_000_000} MB. "
    "Vui lòng chọn đúng tệp XML của biên lai"
)
CHECK_TITLE = "Kết quả kiểm tra biên lai điện tử"

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


def page(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Response[str]:
    html = _pages.get_template(template).render(**context)
    return Response(html, status_code=status, media_type=HTML, headers=headers)


def not_found() -> Response[str]:
    return page("lookup.html", 404, title="Tra cứu biên lai điện tử", message=NOT_FOUND)


async def limit(request: Request[Any, Any, Any]) -> Response[str] | None:
    """The before-request hook of every lookup route: a 429 page once the client's budget is spent."""
    container = request.app.state.container
    client = address_key(request.client.host if request.client else None)
    wait = await container.lookup_limiter.retry_after(container.redis, client)
    if not wait:
        return None
    return page(
        "lookup.html",
        429,
        headers={"Retry-After": str(wait)},
        title="Quá nhiều yêu cầu",
        message=f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
    )


def _state(row: StoredReceipt) -> str:
    if row.status == ISSUED:
        return "Biên lai đã được phát hành và đang có hiệu lực."
    if row.replaced_by_id:
        return f"Biên lai đã bị hủy và được thay thế bởi biên lai khác. Lý do: {row.cancel_reason}"
    return f"Biên lai đã bị hủy. Lý do: {row.cancel_reason}"


def _signature(verification: Verification) -> str:
    if verification.valid:
        return (
            f"Chữ ký số hợp lệ: biên lai do {verification.subject} ký bằng chứng thư số của đơn vị thu, "
            "nội dung không bị thay đổi."
        )
    return f"Chữ ký số không hợp lệ: {verification.explanation}."


class LookupController(Controller):
    path = "/tra-cuu"
    include_in_schema = False
    before_request = limit

    @get("/")
    async def form(self, request: Request[Any, Any, Any]) -> Response[str] | Redirect:
        text = request.query_params.get("ma")
        if isinstance(text, str) and text.strip():
            code = lookup_code(text)
            return Redirect(f"/tra-cuu/{code}", status_code=303) if code else not_found()
        return page("lookup.html", title="Tra cứu biên lai điện tử", message="")

    @get("/{code:str}")
    async def show(self, code: FromPath[str], db: NamedDependency[Database]) -> Response[str]:
        shown = await ReceiptLookup(db).show(code)
        if shown is None:
            return not_found()
        row, verification = shown.receipt, shown.verification
        receipt_html = await asyncio.to_thread(to_html, presenter.data_of(row), verification, masked=True)
        banner = _pages.get_template("banner.html").render(
            code=row.lookup_code,
            live=row.status == ISSUED,
            state=_state(row),
            verification=verification,
            signature=_signature(verification),
            replacement=shown.replacement,
            replaces=shown.replaces,
        )
        html = receipt_html.replace("<body>", f"<body>{banner}", 1)
        return Response(html, media_type=HTML)

    @get("/{code:str}/bien-lai.xml")
    async def xml(self, code: FromPath[str], db: NamedDependency[Database]) -> Response[Any]:
        row = await ReceiptLookup(db).find(code)
        if row is None:
            return not_found()
        return document_response(row, "xml", disposition="attachment")

    @get("/{code:str}/bien-lai.pdf")
    async def pdf(self, code: FromPath[str], db: NamedDependency[Database]) -> Response[Any]:
        lookup = ReceiptLookup(db)
        row = await lookup.find(code)
        if row is None:
            return not_found()
        pdf = await asyncio.to_thread(pdf_of, row, await lookup.verified(row))
        return document_response(row, "pdf", pdf, disposition="attachment")

    @post("/kiem-tra", status_code=200, request_max_body_size=UPLOAD_LIMIT)
    async def check(self, request: Request[Any, Any, Any], db: NamedDependency[Database]) -> Response[str]:
        """Verify an uploaded receipt XML; any file at all gets a verdict page, never a server error."""
        try:
            document = await _upload(request)
        except RequestEntityTooLarge:
            return page("verified.html", 413, title=CHECK_TITLE, verdict=verdict.refused(TOO_LARGE))
        if document is None:
            return page("verified.html", 400, title=CHECK_TITLE, verdict=verdict.refused(verdict.UNREADABLE_FORM))
        if not document:
            return page("verified.html", 400, title=CHECK_TITLE, verdict=verdict.refused(verdict.NO_FILE))
        return page("verified.html", title=CHECK_TITLE, verdict=await ReceiptLookup(db).judge(document))


async def _upload(request: Request[Any, Any, Any]) -> bytes | None:
    """The uploaded file (empty if none was sent), None if the form cannot be read; raises RequestEntityTooLarge
    for a body over the route's limit or a file over the receipt format's."""
    try:
        upload = (await request.form()).get("tep")
        document = await upload.read(MAX_DOCUMENT_BYTES + 1) if isinstance(upload, UploadFile) else b""
    except RequestEntityTooLarge:
        raise
    except Exception as error:  # a malformed form is the sender's problem, answered like a bad file
        log.info("unreadable receipt upload", extra={"error": type(error).__name__})
        return None
    if len(document) > MAX_DOCUMENT_BYTES:
        raise RequestEntityTooLarge
    return document
