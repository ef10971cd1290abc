"""``/v1/shipments``: thin handlers over the shipment service."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel import params
from gateway.kernel.attempts import Attempt
from gateway.kernel.portal import PortalContext
from gateway.kernel.types import CODE_CHARS, exact

from . import presenter
from .schemas import CancelShipment, CreateShipment, ShipmentOut, ShipmentPage
from .service import ShipmentService

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
        self,
        data: JSONBody[CreateShipment],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        shipments: NamedDependency[ShipmentService],
    ) -> ShipmentOut:
        return presenter.view(await shipments.create(portal, attempt, data))

    @get("/{shipment_id:str}", summary="Get a shipment with its timeline", responses=problem_responses(400, 401, 404))
    async def get_one(
        self,
        shipment_id: FromPath[str],
        portal: NamedDependency[PortalContext],
        shipments: NamedDependency[ShipmentService],
    ) -> ShipmentOut:
        return presenter.view(await shipments.get(portal, _shipment_id(shipment_id)))

    @get("/", summary="List shipments, newest first", responses=problem_responses(400, 401))
    async def list_shipments(
        self,
        portal: NamedDependency[PortalContext],
        shipments: NamedDependency[ShipmentService],
        dossier_code: Annotated[str | None, QueryParameter(max_length=64, pattern=DOSSIER_CODE)] = None,
        status: Annotated[str | None, QueryParameter(max_length=24)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40, pattern=CURSOR)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ShipmentPage:
        records, next_cursor = await shipments.page(
            portal, dossier_code=dossier_code, status=status, cursor=cursor, limit=limit
        )
        return ShipmentPage(data=[presenter.view(r) for r in records], next_cursor=next_cursor)

    @post(
        "/{shipment_id:str}/cancel",
        status_code=200,
        summary="Cancel a shipment the post has not picked up yet",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 502, 503),
    )
    async def cancel(
        self,
        shipment_id: FromPath[str],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        shipments: NamedDependency[ShipmentService],
        data: JSONBody[CancelShipment | None] = None,
    ) -> ShipmentOut:
        return presenter.view(await shipments.cancel(portal, _shipment_id(shipment_id)))
