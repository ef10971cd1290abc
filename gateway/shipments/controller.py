"""``/v1/shipments``: thin handlers over the shipment service."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway import idempotency, params
from gateway.errors import Problem, problem_responses
from gateway.fields import CODE_CHARS, exact
from gateway.payments.service import Answer
from gateway.services import services
from gateway.web import IdempotencyKey, PortalApi, idempotent, portal_of, strict_body

from . import views
from .schemas import CancelShipment, CreateShipment, ShipmentOut, ShipmentPage
from .state import STATUSES

LIST_FILTERS = frozenset({"dossier_code", "status", "cursor", "limit"})
# What a dossier code and a shipment id can look like; anything else (a NUL byte, say) never reaches the database.
DOSSIER_CODE = exact(CODE_CHARS)
CURSOR = exact("shp_[0-9a-z]{26}")


def _shipment_id(value: str) -> str:
    return params.resource_id(value, "shp")


class ShipmentController(PortalApi):
    path = "/v1/shipments"
    tags = ("shipments",)

    @post(
        "/",
        status_code=201,
        summary="Book the post to collect a dossier from a citizen or deliver a result to them",
        responses=problem_responses(400, 401, 409, 413, 415, 422, 502, 503),
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[CreateShipment], idempotency_key: IdempotencyKey
    ) -> Response[ShipmentOut]:
        svc = services(request)
        portal = portal_of(request)
        data = await strict_body(request, CreateShipment)
        return await idempotent(request, lambda claim: svc.shipments.create(portal, claim, data, request.url.path))  # type: ignore[return-value]

    @get("/{shipment_id:str}", summary="Get a shipment with its timeline", responses=problem_responses(400, 401, 404))
    async def get_one(self, request: Request[Any, Any, Any], shipment_id: FromPath[str]) -> ShipmentOut:
        async with services(request).db.read() as conn:
            record = await views.load(conn, _shipment_id(shipment_id), portal_of(request).portal_id)
        if record is None:
            raise Problem(404, "not_found")
        return views.view(record)

    @get("/", summary="List shipments, newest first", responses=problem_responses(400, 401))
    async def list_shipments(
        self,
        request: Request[Any, Any, Any],
        dossier_code: Annotated[str | None, QueryParameter(max_length=64, pattern=DOSSIER_CODE)] = None,
        status: Annotated[str | None, QueryParameter(max_length=24)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40, pattern=CURSOR)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ShipmentPage:
        unknown = sorted(set(request.query_params) - LIST_FILTERS)
        if unknown:
            raise Problem(400, "invalid_request", f"unknown query parameter {unknown[0]!r}", field=unknown[0])
        if status is not None and status not in STATUSES:
            raise Problem(400, "invalid_request", f"status must be one of {', '.join(STATUSES)}", field="status")
        async with services(request).db.read() as conn:
            records, next_cursor = await views.list_page(
                conn, portal_of(request).portal_id, dossier_code=dossier_code, status=status, cursor=cursor, limit=limit
            )
        return ShipmentPage(data=[views.view(r) for r in records], next_cursor=next_cursor)

    @post(
        "/{shipment_id:str}/cancel",
        status_code=200,
        summary="Cancel a shipment the post has not picked up yet",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 502, 503),
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        shipment_id: FromPath[str],
        idempotency_key: IdempotencyKey,
        data: JSONBody[CancelShipment | None] = None,
    ) -> Response[ShipmentOut]:
        svc = services(request)
        shipment_id = _shipment_id(shipment_id)
        if await request.body():
            await strict_body(request, CancelShipment)

        async def action(claim: idempotency.Claim) -> Answer:
            record = await svc.shipments.cancel(portal_of(request), shipment_id)
            answer = Answer(200, msgspec.json.encode(views.view(record)))
            async with svc.db.transaction() as tx:
                await idempotency.complete(tx, claim, answer.status_code, answer.body, shipment_id)
            return answer

        return await idempotent(request, action)  # type: ignore[return-value]
