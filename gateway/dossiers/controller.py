"""``GET /v1/dossiers/{code}``: a dossier's payments, receipts and shipments with their states, and its totals."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath

from gateway import params
from gateway.errors import Problem, problem_responses
from gateway.services import services
from gateway.web import PortalApi, portal_of

from . import view
from .view import DossierOut


class DossierController(PortalApi):
    path = "/v1/dossiers"
    tags = ("dossiers",)

    @get(
        "/{dossier_code:str}",
        summary="A dossier's payments, receipts, shipments, COD and totals",
        responses=problem_responses(400, 401, 404),
    )
    async def show(self, request: Request[Any, Any, Any], dossier_code: FromPath[str]) -> DossierOut:
        async with services(request).db.read() as conn:
            found = await view.load(conn, portal_of(request).portal_id, params.dossier_code(dossier_code))
        if found is None:
            raise Problem(404, "not_found", "no payment, receipt or shipment for this dossier")
        return found
