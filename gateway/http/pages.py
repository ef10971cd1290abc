"""The HTML pages the gateway serves to citizens (receipt lookup, payment return): one set of security headers.

The headers are added by ``security_headers``, an ASGI middleware of the whole app, to every response whose
content type is HTML, whichever handler made it: a page added later cannot forget them. Pages carry no script,
load nothing from elsewhere, cannot be framed, send no referrer (the return page's address carries the hub's
signed query) and are never cached, since they show a citizen's name, dossier and payment.
"""

from __future__ import annotations

from litestar.enums import MediaType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HTML = MediaType.HTML  # Litestar adds the charset itself: "text/html; charset=utf-8"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Receipt files (signed XML, PDF) carry personal data too: never cached, never sniffed as something else.
DOCUMENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

_ENCODED = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()]


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)


def security_headers(app: ASGIApp) -> ASGIApp:
    """Add ``SECURITY_HEADERS`` to every HTML response, replacing any the handler set differently."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if _is_html(headers):
                    ours = {name for name, _ in _ENCODED}
                    headers = [(n, v) for n, v in headers if n.lower() not in ours] + _ENCODED
                    message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
