"""The portal's webhook controls: configure the endpoint, rotate its secret, send a test event, read the delivery
log and the dead letters, and replay events. Thin handlers over ``WebhookService``."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel import params
from gateway.kernel.attempts import Attempt
from gateway.kernel.portal import PortalContext

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
from .service import WebhookService


class WebhookController(PortalApi):
    path = "/v1/webhook"
    tags = ("webhooks",)

    @get("/", summary="Show the webhook endpoint", responses=problem_responses(400, 401, 404))
    async def show(self, portal: NamedDependency[PortalContext], hooks: NamedDependency[WebhookService]) -> WebhookOut:
        return await hooks.show(portal.portal_id)

    @put(
        "/",
        status_code=200,
        summary="Set the webhook URL (a new endpoint's signing secret is shown once, in this answer)",
        responses=problem_responses(400, 401, 413, 415, 422),
    )
    async def configure(
        self, data: JSONBody[PutWebhook], portal: NamedDependency[PortalContext], hooks: NamedDependency[WebhookService]
    ) -> Response[WebhookOut]:
        out, created = await hooks.configure(portal.portal_id, data.url, data.enabled)
        return Response(content=out, status_code=201 if created else 200)

    @post(
        "/rotate-secret",
        status_code=200,
        summary="Make a new signing secret (shown once); the old one keeps signing until it expires",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def rotate(
        self,
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        hooks: NamedDependency[WebhookService],
        data: JSONBody[RotateSecret | None] = None,
    ) -> WebhookOut:
        return await hooks.rotate(portal.portal_id, attempt, data)

    @post(
        "/test",
        status_code=200,
        summary="Send a signed test event now and report how the endpoint answered",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def test(
        self,
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        hooks: NamedDependency[WebhookService],
    ) -> TestDelivery:
        return await hooks.test(portal.portal_id)

    @get("/deliveries", summary="Delivery attempts, newest first", responses=problem_responses(400, 401))
    async def deliveries(
        self,
        portal: NamedDependency[PortalContext],
        hooks: NamedDependency[WebhookService],
        event_id: Annotated[str | None, QueryParameter(max_length=32)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> AttemptPage:
        return await hooks.attempts(portal.portal_id, event_id, cursor, limit)

    @get("/dead-letters", summary="Events given up on, newest first", responses=problem_responses(400, 401))
    async def dead_letters(
        self,
        portal: NamedDependency[PortalContext],
        hooks: NamedDependency[WebhookService],
        cursor: Annotated[str | None, QueryParameter(max_length=20)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> DeadLetterPage:
        return await hooks.dead_letters(portal.portal_id, cursor, limit)

    @post(
        "/dead-letters/replay",
        status_code=202,
        summary="Send again every dead letter of events created since a time",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def replay_dead(
        self,
        data: JSONBody[ReplayDeadLetters],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        hooks: NamedDependency[WebhookService],
    ) -> ReplayCount:
        return ReplayCount(replayed=await hooks.replay_dead(portal.portal_id, data.since))


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
        self,
        event_id: FromPath[str],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        hooks: NamedDependency[WebhookService],
    ) -> ReplayOut:
        return await hooks.replay_one(portal.portal_id, params.resource_id(event_id, "evt"))
