"""``GET /v1/dossiers/{code}``: a dossier's payments, receipts and shipments with their states, and its totals."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel import params
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database

from . import service
from .presenter import DossierOut


class DossierController(PortalApi):
    path = "/v1/dossiers"
    tags = ("dossiers",)

    @get(
        "/{dossier_code:str}",
        summary="A dossier's payments, receipts, shipments, COD and totals",
        responses=problem_responses(400, 401, 404),
    )
    async def show(
        self, dossier_code: FromPath[str], portal: NamedDependency[PortalContext], db: NamedDependency[Database]
    ) -> DossierOut:
        return await service.show(db, portal.portal_id, params.dossier_code(dossier_code))
