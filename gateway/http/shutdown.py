"""A request the server gives up on while shutting down: on SIGTERM uvicorn lets the requests under way finish
within ``SHUTDOWN_GRACE_SECONDS``, then cancels them, and answers one that had not begun its answer with a bare
``500 Internal Server Error``. ``abandoned`` answers it instead ``503 shutting_down`` (problem+json, with
``Retry-After``): nothing of it was kept that a retry with the same Idempotency-Key would not resume, and the
portal, or a balancer, sends the retry to a process that is not stopping."""

from __future__ import annotations

import asyncio

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.kernel.errors import Refused

from .problems import PROBLEM_JSON, problem_body, status_of

RETRY_AFTER_SECONDS = 1  # another process takes it at once; this one is going
_REFUSAL = Refused("shutting_down", "the gateway is stopping; retry with the same Idempotency-Key")
_HEADERS = [
    (b"content-type", PROBLEM_JSON.encode()),
    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    (b"connection", b"close"),
]


def abandoned(app: ASGIApp) -> ASGIApp:
    """Answer ``503 shutting_down`` to a request cancelled before its answer began; the cancellation goes on."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, watched)
        except asyncio.CancelledError:
            if not started:
                body = msgspec.json.encode(problem_body(_REFUSAL, scope.get("path", "")))
                headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": status_of(_REFUSAL.code), "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
            raise

    return middleware
