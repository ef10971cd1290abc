"""The citizen's checkout page at ``UrlThanhToan``: the dossier and its fees, a bank to choose, pay or cancel.

Rendering is pure (order in, escaped HTML out); the routes record the result, start the callback and send the
browser back to the partner with a signed return query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from adapters.payhub.codes import FEE_KIND_LE_PHI, FEE_KIND_PHI
from adapters.payhub.messages import parse_amount

from . import protocol
from .config import BANKS, DEFAULT_BANK
from .hub import AnyRequest, sandbox_of
from .state import OPEN_STATES, LedgerError, Order

FEE_KIND_NAMES = {FEE_KIND_PHI: "Phí", FEE_KIND_LE_PHI: "Lệ phí"}
RESULT_PAID = "00"
RESULT_CANCELLED = "24"

_templates = Environment(
    loader=PackageLoader("adapters.payhub.sandbox", "templates"),
    autoescape=select_autoescape(["html"]),
)


def format_vnd(amount: int) -> str:
    """``150000`` → ``150.000 đ``, the way Vietnamese pages write money."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,} đ".replace(",", ".")


@dataclass(frozen=True)
class FeeLine:
    kind: str
    name: str
    amount: str


def render_checkout(order: Order, base_path: str) -> str:
    receipt = order.request.receipt
    lines = [
        FeeLine(FEE_KIND_NAMES.get(int(line.LoaiPhiLePhi), str(line.LoaiPhiLePhi)), line.TenPhiLePhi,
                format_vnd(parse_amount(line.SoTien)))
        for line in receipt.PhiLePhi
    ]
    return _templates.get_template("checkout.html").render(
        order=order,
        receipt=receipt,
        lines=lines,
        total=format_vnd(order.amount),
        banks=BANKS,
        chosen_bank=order.request.bank_code if order.request.bank_code in BANKS else DEFAULT_BANK,
        pay_action=f"{base_path}/pay",
        cancel_action=f"{base_path}/cancel",
    )


def render_notice(heading: str, detail: str) -> str:
    return _templates.get_template("notice.html").render(heading=heading, detail=detail)


def return_url(base: str, params: dict[str, str]) -> str:
    """The partner's return URL with the signed result appended to any query it already has."""
    parts = urlsplit(base)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def _page(html: str, status: int = 200) -> Response[str]:
    return Response(content=html, status_code=status, media_type="text/html; charset=utf-8")


def _missing() -> Response[str]:
    detail = "Đường dẫn thanh toán không đúng hoặc đã hết hạn."
    return _page(render_notice("Không tìm thấy giao dịch", detail), 404)


@get("/checkout/{token:str}")
async def checkout_page(request: AnyRequest, token: FromPath[str]) -> Response[str]:
    order = sandbox_of(request).ledger.by_token(token)
    if order is None:
        return _missing()
    if order.state not in OPEN_STATES:
        return _page(render_notice("Giao dịch đã được xử lý", f"Mã tham chiếu {order.reference}."), 409)
    return _page(render_checkout(order, f"/checkout/{token}"))


@post("/checkout/{token:str}/pay", status_code=303)
async def checkout_pay(request: AnyRequest, token: FromPath[str]) -> Response[Any]:
    form = await request.form()
    bank_code = str(form.get("bank_code") or DEFAULT_BANK)
    if bank_code not in BANKS:
        detail = "Vui lòng chọn một ngân hàng trong danh sách."
        return _page(render_notice("Ngân hàng không hợp lệ", detail), 400)
    return _finish(request, token, RESULT_PAID, bank_code)


@post("/checkout/{token:str}/cancel", status_code=303)
async def checkout_cancel(request: AnyRequest, token: FromPath[str]) -> Response[Any]:
    return _finish(request, token, RESULT_CANCELLED, "")


def _finish(request: AnyRequest, token: str, result: str, bank_code: str) -> Response[Any]:
    sandbox = sandbox_of(request)
    order = sandbox.ledger.by_token(token)
    if order is None:
        return _missing()
    try:
        sandbox.conclude(order, result, bank_code)
    except LedgerError:
        return _page(render_notice("Giao dịch đã được xử lý", f"Mã tham chiếu {order.reference}."), 409)
    params = protocol.return_params(order, sandbox.config.hash_key)
    if not sandbox.config.return_url:
        heading = "Thanh toán thành công" if result == RESULT_PAID else "Giao dịch đã bị hủy"
        return _page(render_notice(heading, f"Mã giao dịch {order.transaction_id}."))
    return Redirect(return_url(sandbox.config.return_url, params), status_code=303)


ROUTES = [checkout_page, checkout_pay, checkout_cancel]
