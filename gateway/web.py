"""Request plumbing shared by the portal API's controllers: idempotent POSTs and JSON answers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, Response
from litestar.params import HeaderParameter
from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError

from adapters import jsonwire
from adapters.vntime import now_utc
from gateway import idempotency, params
from gateway.auth import ApiKeyMiddleware
from gateway.errors import PROBLEM_JSON, Problem
from gateway.payments.service import Answer
from gateway.portals.service import PortalContext
from gateway.ratelimit import RateLimiter
from gateway.services import services
from gateway.store import tables as t

JSON = "application/json"

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        description="Unique per request; a retry with the same key replays the first answer",
        min_length=1,
        max_length=255,
    ),
]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
T = TypeVar("T")


_NUL = re.compile(rb"\x00|\\u0000", re.IGNORECASE)
async def within_rate_limit(request: Request[Any, Any, Any]) -> None:
    """Each API key has a budget of requests per window, shared by all gateway processes (see ``ratelimit``).
    OPTIONS is answered without a key (the authentication middleware lets it by), so it spends no budget."""
    if "user" not in request.scope:
        return
    svc = services(request)
    cfg = svc.settings
    portal = portal_of(request)
    limiter = RateLimiter(f"{cfg.queue_name}:api-rate", cfg.api_rate_limit, cfg.api_rate_window_seconds)
    wait = await limiter.retry_after(svc.redis, portal.key_id, portal.rate_limit)
    if wait:
        raise Problem(429, "rate_limited", f"retry in {wait} s", headers={"Retry-After": str(wait)})


async def edge(request: Request[Any, Any, Any]) -> None:
    """What every portal API request passes before its handler: its key's rate limit, then the body's form."""
    await within_rate_limit(request)
    await require_json(request)


async def require_json(request: Request[Any, Any, Any]) -> None:
    """A body on the portal API must be JSON; an empty body is allowed where the handler takes none. No text we
    store may hold a NUL character (PostgreSQL cannot), in the path, the query or the body."""
    if len(request.url.path) > params.MAX_PATH:
        raise Problem(404, "not_found")
    if "\x00" in request.url.path or "%00" in request.url.query.lower() or "\x00" in request.url.query:
        raise Problem(400, "invalid_request", "NUL characters are not allowed")
    if request.method in BODY_METHODS:
        content_type = request.headers.get("content-type", "")
        length = request.headers.get("content-length")
        has_body = (length not in (None, "0")) or "transfer-encoding" in request.headers
        if has_body and content_type.split(";")[0].strip().lower() != "application/json":
            raise Problem(415, "unsupported_media_type", f"got {content_type or 'no content type'}")
        body = await request.body() if has_body else b""
        if _NUL.search(body):
            raise Problem(400, "invalid_request", "NUL characters are not allowed")
        try:
            jsonwire.check(body)
        except jsonwire.UnsafeJson as exc:
            raise Problem(400, "malformed_json", str(exc)) from None


class PortalApi(Controller):
    """Base of the portal API's controllers: every route needs an API key, and bodies are JSON."""

    middleware = (ApiKeyMiddleware,)
    before_request = edge


async def strict_body(request: Request[Any, Any, Any], kind: type[T]) -> T:
    """Decode the body again, strictly: Litestar's own decoding is lax and would take "50000" for 50000 đồng.
    Every instant in it must be within the range the gateway keeps."""
    try:
        decoded = msgspec.json.decode(await request.body(), type=kind)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        field = path.rstrip("`").removeprefix("$.").removeprefix("$") or None
        raise Problem(
            400, "invalid_request", message, field=field, errors=[{"field": field or "", "message": message}]
        ) from exc
    except msgspec.DecodeError as exc:
        raise Problem(400, "malformed_json", str(exc)) from exc
    params.check_instants(decoded)
    return decoded


def portal_of(request: Request[Any, Any, Any]) -> PortalContext:
    return request.user  # type: ignore[no-any-return]


def answer_response(answer: Answer, *, replayed: bool = False) -> Response[bytes]:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    media = PROBLEM_JSON if answer.status_code >= 400 else JSON
    return Response(content=answer.body, status_code=answer.status_code, media_type=media, headers=headers)


async def idempotent(
    request: Request[Any, Any, Any], action: Callable[[idempotency.Claim], Awaitable[Answer]]
) -> Response[bytes]:
    """Run ``action`` at most once per ``Idempotency-Key``; replay its stored answer to any repeat."""
    svc = services(request)
    portal = portal_of(request)
    key = idempotency.require_key(request.headers.get("idempotency-key"))
    digest = idempotency.request_hash(request.method, request.url.path, await request.body())
    now = now_utc()
    lock = svc.settings.idempotency_lock_seconds
    row = idempotency.new_row(portal.portal_id, key, request.method, request.url.path, digest, now, None, lock)
    try:
        async with svc.db.transaction() as tx:
            await idempotency.insert(tx, row)
        claim = idempotency.Claim(portal.portal_id, key)
    except IntegrityError:
        found = await idempotency.resolve_conflict(svc.db, portal.portal_id, key, digest, now, lock)
        if isinstance(found, idempotency.Replay):
            return answer_response(Answer(found.status_code, found.body), replayed=True)
        claim = found
    try:
        answer = await action(claim)
    except BaseException:
        await _abandon(request, claim)
        raise
    return answer_response(answer)


async def _abandon(request: Request[Any, Any, Any], claim: idempotency.Claim) -> None:
    """A request that failed before it made anything leaves no key; one that made a resource leaves it resumable."""
    k = t.idempotency_keys.c
    mine = and_(k.portal_id == claim.portal_id, k.key == claim.key, k.state == idempotency.IN_PROGRESS)
    async with services(request).db.transaction() as tx:
        await tx.execute(t.idempotency_keys.delete().where(mine, k.resource_id.is_(None)))
        await tx.execute(t.idempotency_keys.update().where(mine).values(state=idempotency.RETRYABLE, locked_until=None))
