"""The portal's webhook controls: configure the endpoint, rotate its secret, send a test event, read the delivery
log and the dead letters, and replay events. Thin handlers over ``endpoints``, ``views`` and ``replay``."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.vntime import now_utc
from gateway import idempotency, params
from gateway.errors import Problem, problem_responses
from gateway.events.model import TEST_TYPE, EventOut, body, envelope
from gateway.ids import new_id
from gateway.payments.service import Answer
from gateway.services import Services, services
from gateway.store import delivery_tables as d
from gateway.web import JSON, IdempotencyKey, PortalApi, idempotent, portal_of, strict_body

from . import addresses, endpoints, replay, sender, urls, views
from .policy import Breaker
from .schemas import (
    AttemptPage,
    DeadLetterPage,
    PutWebhook,
    ReplayCount,
    ReplayDeadLetters,
    ReplayOut,
    RotateSecret,
    TestDelivery,
    WebhookOut,
)
from .tools import WebhookTools

log = logging.getLogger("gateway.deliveries")

PAGE = frozenset({"cursor", "limit"})


def _tools(svc: Services) -> WebhookTools:
    assert svc.webhooks is not None
    return svc.webhooks


def _only(request: Request[Any, Any, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise Problem(400, "invalid_request", f"unknown query parameter {unknown[0]!r}", field=unknown[0])


async def _require_endpoint(conn: Any, portal_id: str) -> None:
    found = await endpoints.row(conn, portal_id)
    if found is None or not found.enabled:
        raise Problem(404, "webhook_not_configured", "configure an enabled webhook first (PUT /v1/webhook)")


def _encode(value: msgspec.Struct) -> bytes:
    return msgspec.json.encode(value)


async def _allowed_url(svc: Services, portal_id: str, url: str) -> str:
    """The save's check, with the sender's parser and the sender's address rules (the sender checks again at every
    connection: what a name resolves to may change)."""
    try:
        found = urls.parse(url)
        if urls.is_gateway(found, svc.settings.public_url):
            raise urls.BadUrl("the URL points at the gateway itself")
    except urls.BadUrl as exc:
        raise Problem(422, "webhook_url_refused", str(exc), field="url") from exc
    async with svc.db.read() as conn:
        allow_private = await endpoints.allows_private(conn, portal_id)
    try:
        async with asyncio.timeout(svc.settings.webhook_connect_timeout):
            await addresses.checked(found.host, found.port, _tools(svc).http.policy, allow_private)
    except (addresses.AddressRefused, TimeoutError) as exc:
        log.info("webhook URL refused", extra={"portal_id": portal_id, "host": found.host, "detail": str(exc)})
        raise Problem(422, "webhook_url_refused", addresses.REFUSED, field="url") from exc
    return url


class WebhookController(PortalApi):
    path = "/v1/webhook"
    tags = ("webhooks",)

    @get("/", summary="Show the webhook endpoint", responses=problem_responses(400, 401, 404))
    async def show(self, request: Request[Any, Any, Any]) -> WebhookOut:
        svc = services(request)
        async with svc.db.read() as conn:
            found = await endpoints.row(conn, portal_of(request).portal_id)
        if found is None:
            raise Problem(404, "webhook_not_configured")
        return endpoints.view(found, Breaker.from_settings(svc.settings), now_utc())

    @put(
        "/",
        status_code=200,
        summary="Set the webhook URL (a new endpoint's signing secret is shown once, in this answer)",
        responses=problem_responses(400, 401, 413, 415, 422),
    )
    async def configure(self, request: Request[Any, Any, Any], data: JSONBody[PutWebhook]) -> Response[WebhookOut]:
        svc = services(request)
        data = await strict_body(request, PutWebhook)
        portal_id = portal_of(request).portal_id
        url = await _allowed_url(svc, portal_id, data.url)
        now = now_utc()
        async with svc.db.transaction() as tx:
            found, secret = await endpoints.put(tx, _tools(svc).box, portal_id, url, data.enabled, now)
        out = endpoints.view(found, Breaker.from_settings(svc.settings), now, secret)
        return Response(content=out, status_code=201 if secret else 200, media_type=JSON)

    @post(
        "/rotate-secret",
        status_code=200,
        summary="Make a new signing secret (shown once); the old one keeps signing until it expires",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey,
        data: JSONBody[RotateSecret | None] = None,
    ) -> Response[WebhookOut]:
        svc = services(request)
        raw = await request.body()
        options = await strict_body(request, RotateSecret) if raw.strip() else RotateSecret()
        overlap = timedelta(
            seconds=svc.settings.webhook_secret_overlap_seconds
            if options.overlap_seconds is None
            else options.overlap_seconds
        )
        portal_id = portal_of(request).portal_id

        async def action(claim: idempotency.Claim) -> Answer:
            now = now_utc()
            async with svc.db.transaction() as tx:
                rotated = await endpoints.rotate(tx, _tools(svc).box, portal_id, overlap, now)
                if rotated is None:
                    raise Problem(404, "webhook_not_configured")
                found, secret = rotated
                answer = Answer(200, _encode(endpoints.view(found, Breaker.from_settings(svc.settings), now, secret)))
                await idempotency.complete(tx, claim, answer.status_code, answer.body, None)
            return answer

        return await idempotent(request, action)  # type: ignore[return-value]

    @post(
        "/test",
        status_code=200,
        summary="Send a signed test event now and report how the endpoint answered",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def test(self, request: Request[Any, Any, Any], idempotency_key: IdempotencyKey) -> Response[TestDelivery]:
        svc = services(request)
        portal_id = portal_of(request).portal_id
        tools = _tools(svc)

        async def action(claim: idempotency.Claim) -> Answer:
            now = now_utc()
            async with svc.db.read() as conn:
                target = await endpoints.target(conn, tools.box, portal_id, now)
            if target is None:
                raise Problem(404, "webhook_not_configured", "no enabled webhook endpoint")
            event = EventOut(id=new_id("evt"), type=TEST_TYPE, created_at=now, dossier_code="", sequence=0, data={})
            if target.secrets:
                result = await sender.send(
                    tools.http.client(target.allow_private),
                    target.url,
                    target.secrets,
                    event.id,
                    body(event),
                    timeout=svc.settings.webhook_timeout_seconds,
                    max_response_bytes=svc.settings.webhook_max_response_bytes,
                )
            else:
                result = sender.not_signed(target.unsigned)
            sender.record(result, portal_id, event.id)
            out = TestDelivery(event.id, result.outcome, result.status_code, result.latency_ms, result.error)  # type: ignore[arg-type]
            answer = Answer(200, _encode(out))
            async with svc.db.transaction() as tx:
                await tx.execute(
                    d.delivery_attempts.insert().values(
                        portal_id=portal_id,
                        event_id=event.id,
                        attempt=1,
                        url=target.url,
                        outcome=result.outcome,
                        status_code=result.status_code,
                        latency_ms=result.latency_ms,
                        error=result.error,
                        attempted_at=now,
                    )
                )
                await idempotency.complete(tx, claim, answer.status_code, answer.body, event.id)
            return answer

        return await idempotent(request, action)  # type: ignore[return-value]

    @get("/deliveries", summary="Delivery attempts, newest first", responses=problem_responses(400, 401))
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        event_id: Annotated[str | None, QueryParameter(max_length=32)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> AttemptPage:
        _only(request, PAGE | {"event_id"})
        async with services(request).db.read() as conn:
            data, next_cursor = await views.attempts(
                conn, portal_of(request).portal_id, event_id=event_id, cursor=cursor, limit=limit
            )
        return AttemptPage(data=data, next_cursor=next_cursor)

    @get("/dead-letters", summary="Events given up on, newest first", responses=problem_responses(400, 401))
    async def dead_letters(
        self,
        request: Request[Any, Any, Any],
        cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> DeadLetterPage:
        _only(request, PAGE)
        async with services(request).db.read() as conn:
            data, next_cursor = await views.dead_letters(conn, portal_of(request).portal_id, cursor=cursor, limit=limit)
        return DeadLetterPage(data=data, next_cursor=next_cursor)

    @post(
        "/dead-letters/replay",
        status_code=202,
        summary="Send again every dead letter of events created since a time",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def replay_dead(
        self, request: Request[Any, Any, Any], data: JSONBody[ReplayDeadLetters], idempotency_key: IdempotencyKey
    ) -> Response[ReplayCount]:
        svc = services(request)
        data = await strict_body(request, ReplayDeadLetters)
        portal_id = portal_of(request).portal_id

        async def action(claim: idempotency.Claim) -> Answer:
            async with svc.db.transaction() as tx:
                await _require_endpoint(tx, portal_id)
                count = await replay.dead_since(tx, portal_id, data.since)
                answer = Answer(202, _encode(ReplayCount(replayed=count)))
                await idempotency.complete(tx, claim, answer.status_code, answer.body, None)
            return answer

        return await idempotent(request, action)  # type: ignore[return-value]


class EventReplayController(PortalApi):
    path = "/v1/events"
    tags = ("events",)

    @post(
        "/{event_id:str}/replay",
        status_code=202,
        summary="Send one event again to the webhook",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def replay_one(
        self, request: Request[Any, Any, Any], event_id: FromPath[str], idempotency_key: IdempotencyKey
    ) -> Response[ReplayOut]:
        svc = services(request)
        portal_id = portal_of(request).portal_id
        event_id = params.resource_id(event_id, "evt")

        async def action(claim: idempotency.Claim) -> Answer:
            async with svc.db.transaction() as tx:
                await _require_endpoint(tx, portal_id)
                if not await replay.one(tx, portal_id, event_id, now_utc()):
                    raise Problem(404, "not_found", "no such event")
                found = await views.event_with_status(tx, portal_id, event_id)
                assert found is not None
                out = ReplayOut(event=envelope(found), delivery=views.status(found))
                answer = Answer(202, _encode(out))
                await idempotency.complete(tx, claim, answer.status_code, answer.body, event_id)
            return answer

        return await idempotent(request, action)  # type: ignore[return-value]
