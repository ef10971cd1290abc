"""Every HTML page the gateway serves sends the same security headers and one charset: found by walking every
route of the app (so a page added later is walked too), each with a real receipt, payment or nothing at all."""

from __future__ import annotations

import re
from typing import Any

import httpx

from gateway.app import create_app
from gateway.settings import load
from tests.support.api import create, key, pay, return_params, wait_status
from tests.support.stack import Stack

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}
CSP_DIRECTIVES = ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'")
PAGES = {"/tra-cuu", "/tra-cuu/{code:str}", "/tra-cuu/kiem-tra", "/payments/return", "/finance/sign-in"}  # all reached


def is_page(route: str) -> bool:
    """The routes that may answer HTML: the public lookup (its 404 pages included), the payment return, the finance
    staff's pages, and the OpenAPI controller's own 404 page for a document it does not serve."""
    return route.startswith(("/tra-cuu", "/finance")) or route in ("/payments/return", "/schema/{path:str}")


def get_routes(stack: Stack) -> list[str]:
    app = create_app(load(stack.gateway_env()))
    return sorted(route.path for route in app.routes if "GET" in getattr(route, "methods", ()))


async def a_receipt_code(api: httpx.AsyncClient, hub: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    payment = await create(api)
    await pay(hub, payment["reference"])
    await wait_status(api, payment["id"], "paid")

    async def code() -> str | None:
        found = (await api.get(f"/v1/payments/{payment['id']}/receipts")).json()
        return found[0]["lookup_code"] if found else None

    from tests.support.services import wait_for

    return await wait_for(code, timeout=20, what="a receipt"), payment  # type: ignore[return-value]


def fill(path: str, code: str) -> list[str]:
    """The route's path with its parameters filled in: a real lookup code, and a wrong value for each."""
    real = re.sub(r"\{code:str\}", code, path)
    wrong = re.sub(r"\{[^}]+\}", "x", path)
    return [real, wrong] if real != path else [wrong]


async def test_every_html_page_sends_the_security_headers(
    api: httpx.AsyncClient, hub: httpx.AsyncClient, stack: Stack
) -> None:
    code, payment = await a_receipt_code(api, hub)
    answers: list[tuple[str, str, httpx.Response]] = []
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as browser:
        for route in get_routes(stack):
            for path in fill(route, code):
                answers.append((route, path, await browser.get(path)))
                answers.append((route, path, await api.get(path)))
        for params in (return_params(payment["reference"]), {}, {"MaThamChieu": "x"}):
            answers.append(("/payments/return", "return", await browser.get("/payments/return", params=params)))
        document = (await api.get(f"/tra-cuu/{code}/bien-lai.xml")).content
        for files in ({"tep": ("a.xml", document, "application/xml")}, {"tep": ("a.xml", b"<x", "text/xml")}, None):
            page = await browser.post("/tra-cuu/kiem-tra", files=files, data=None if files else {"a": "b"})
            answers.append(("/tra-cuu/kiem-tra", "upload", page))
        answers.append(("/tra-cuu/kiem-tra", "upload", await browser.post("/tra-cuu/kiem-tra", headers=key())))

    html = [(route, path, a) for route, path, a in answers if "html" in a.headers.get("content-type", "")]
    assert PAGES <= {route for route, _, _ in html}, "the walk reached every page"
    for route, path, answer in html:
        where = f"{path} ({answer.status_code})"
        assert answer.headers["content-type"] == "text/html; charset=utf-8", where
        assert {name: answer.headers.get(name) for name in EXPECTED} == EXPECTED, where
        policy = answer.headers.get("content-security-policy", "")
        assert all(directive in policy for directive in CSP_DIRECTIVES), where
        assert is_page(route), f"{where}: an HTML page outside the known pages"
    assert len({a.headers["content-security-policy"] for _, _, a in html}) == 1, "one policy for every page"
