"""What every portal API request passes before its handler, and idempotency for the POSTs that declare it.

``Edge`` is the portal API's middleware (after the API key's): the key's rate limit, the body's form (JSON only, no
NUL, no hostile structure), the strict decoding of the handler's ``data`` (Litestar's own is lax and would take
"50000" for 50000 đồng), and, for a handler that takes an ``attempt``, the Idempotency-Key: claim it, replay a
completed attempt's answer, and after the handler store its answer or leave the key for a retry."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.params import HeaderParameter, QueryParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters import jsonwire
from adapters.vntime import now_utc
from gateway.kernel import params
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.store import idempotency
from gateway.store.db import DatabaseUnavailable

from .problems import PROBLEM_JSON, REFUSAL
from .ratelimit import COUNTED

log = logging.getLogger("gateway.edge")

JSON = "application/json"
ATTEMPT = "gateway.attempt"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NUL = re.compile(rb"\x00|\\u0000", re.IGNORECASE)

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        description="Unique per request; a retry with the same key replays the first answer",
        min_length=1,
        max_length=255,
    ),
]


async def attempt(request: Request[Any, Any, Any], idempotency_key: IdempotencyKey) -> Attempt:
    """The dependency a handler takes to be idempotent: the attempt the edge claimed for its key."""
    return request.scope["state"][ATTEMPT]  # type: ignore[no-any-return]


def portal(request: Request[Any, Any, Any]) -> PortalContext:
    """The dependency naming the calling portal (set by the API key's middleware)."""
    return request.user  # type: ignore[no-any-return]


class Edge:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        await within_rate_limit(request)
        body = await well_formed_body(request)
        handler = scope["route_handler"]
        only_declared_query(handler, request)
        strict_decode(handler, body)
        if "attempt" not in handler.parsed_fn_signature.parameters:
            await self.app(scope, receive, send)
            return
        await idempotent(self.app, request, body, send)


async def within_rate_limit(request: Request[Any, Any, Any]) -> None:
    """Each API key has a budget of requests per window, shared by all gateway processes (see ``ratelimit``)."""
    if "user" not in request.scope:
        return
    container = request.app.state.container
    who: PortalContext = request.user
    counted = request.scope["state"].get(COUNTED)  # counted with the key's check (``auth``), when it was cached
    wait = await container.api_limiter.retry_after(container.redis, who.key_id, who.rate_limit, counted)
    if wait:
        raise Refused("rate_limited", f"retry in {wait} s", retry_after=wait)


async def well_formed_body(request: Request[Any, Any, Any]) -> bytes:
    """A body on the portal API must be JSON; an empty body is allowed where the handler takes none. No text we
    store may hold a NUL character (PostgreSQL cannot), in the path, the query or the body."""
    if len(request.url.path) > params.MAX_PATH:
        raise Refused("not_found")
    if "\x00" in request.url.path or "%00" in request.url.query.lower() or "\x00" in request.url.query:
        raise Refused("invalid_request", "NUL characters are not allowed")
    if request.method not in BODY_METHODS:
        return b""
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length")
    has_body = (length not in (None, "0")) or "transfer-encoding" in request.headers
    if has_body and content_type.split(";")[0].strip().lower() != "application/json":
        raise Refused("unsupported_media_type", f"got {content_type or 'no content type'}")
    body = await request.body() if has_body else b""
    if _NUL.search(body):
        raise Refused("invalid_request", "NUL characters are not allowed")
    try:
        jsonwire.check(body)
    except jsonwire.UnsafeJson as exc:
        raise Refused("malformed_json", str(exc)) from None
    return body


def declared_query(handler: Any) -> frozenset[str]:
    """The query parameters a handler declares (``QueryParameter``), by the names clients send; a handler's
    dependencies and path parameters are not query parameters."""
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, QueryParameter):
            names.add(kwarg.name or kwarg.query or name)
    return frozenset(names)


_DECLARED: dict[int, frozenset[str]] = {}


def only_declared_query(handler: Any, request: Request[Any, Any, Any]) -> None:
    """A handler that takes query parameters refuses any other: a misspelt filter must not list everything."""
    declared = _DECLARED.get(id(handler))
    if declared is None:
        declared = _DECLARED[id(handler)] = declared_query(handler)
    if not declared:
        return
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise Refused("invalid_request", f"unknown query parameter {unknown[0]!r}", field=unknown[0])


def body_type(handler: Any) -> Any:
    """The type of the handler's ``data``, without Litestar's markers; None when it takes no body."""
    field = handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return None
    kind = field.annotation
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    return kind


def strict_decode(handler: Any, body: bytes) -> Any:
    """Decode the body strictly as the handler's ``data``; every instant in it within the range the gateway keeps."""
    kind = body_type(handler)
    if kind is None or not body.strip():
        return None
    if get_origin(kind) is Union and type(None) not in get_args(kind):
        kind = kind | None
    try:
        decoded = msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        field = path.rstrip("`").removeprefix("$.").removeprefix("$") or None
        raise Refused(
            "invalid_request", message, field=field, errors=[{"field": field or "", "message": message}]
        ) from exc
    except msgspec.DecodeError as exc:
        raise Refused("malformed_json", str(exc)) from exc
    params.check_instants(decoded)
    return decoded


async def idempotent(app: ASGIApp, request: Request[Any, Any, Any], body: bytes, send: Send) -> None:
    """Run the handler at most once per Idempotency-Key; replay its stored answer to any repeat."""
    container = request.app.state.container
    who: PortalContext = request.user
    key = idempotency.require_key(request.headers.get("idempotency-key"))
    path = request.url.path
    asked = idempotency.Request(
        who.portal_id, key, request.method, path, idempotency.request_hash(request.method, path, body)
    )
    claimed = await idempotency.claim(container.db, asked, now_utc(), container.settings.idempotency_lock_seconds)
    if isinstance(claimed, idempotency.Replay):
        await _send_answer(send, claimed.status_code, claimed.body, replayed=True)
        return
    request.scope.setdefault("state", {})[ATTEMPT] = claimed
    answer = _Buffered()
    try:
        await app(request.scope, request.receive, answer.capture)
    except BaseException:
        await _settle(container.db, claimed, None)
        raise
    refusal = request.scope["state"].get(REFUSAL)
    final = answer.status < 400 or (refusal is not None and refusal.settled)
    await _settle(container.db, claimed, answer if final else None)
    await answer.release(send)


async def _settle(db: Any, claimed: Attempt, answer: _Buffered | None) -> None:
    """Store the answer for replay (``answer``), or leave the key to a retry. When the database is lost meanwhile
    the answer is still sent: the key stays locked for its lock time, after which a retry resumes what the attempt
    made (an action that makes or changes something binds it to the attempt, ``UnitOfWork.bind``, and a retry
    with ``resume_id`` answers with it) or, for the actions that are safe to repeat (a cancel already done, a test
    event, a replay), runs again."""
    try:
        if answer is not None:
            await idempotency.complete(db, claimed, answer.status, answer.body)
        else:
            await idempotency.abandon(db, claimed)
    except DatabaseUnavailable as error:
        log.warning("idempotency key not settled: database unavailable", extra={"error": str(error)})


class _Buffered:
    """The handler's answer, held until its key is settled so a client never sees an answer that was not kept."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 500
        self.chunks: list[bytes] = []

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def release(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


async def _send_answer(send: Send, status: int, body: bytes, *, replayed: bool) -> None:
    media = PROBLEM_JSON if status >= 400 else JSON
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
