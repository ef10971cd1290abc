"""``/v1/payments``: thin handlers over the payment and refund services."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel import params
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from gateway.store.db import Database

from . import presenter, repository
from .refunds import RefundService, RefundStatus
from .schemas import CancelPayment, CreatePayment, CreateRefund, PaymentOut, PaymentPage, RefundOut
from .service import PaymentService


class PaymentController(PortalApi):
    path = "/v1/payments"
    tags = ("payments",)

    @post(
        "/",
        status_code=201,
        summary="Create a payment for a dossier's fees",
        responses=problem_responses(400, 401, 409, 413, 415, 422, 502, 503),
    )
    async def create(
        self,
        data: JSONBody[CreatePayment],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        payments: NamedDependency[PaymentService],
    ) -> PaymentOut:
        return presenter.view(await payments.create(portal, attempt, data))

    @get("/{payment_id:str}", summary="Get a payment", responses=problem_responses(400, 401, 404))
    async def get_one(
        self, payment_id: FromPath[str], portal: NamedDependency[PortalContext], db: NamedDependency[Database]
    ) -> PaymentOut:
        async with db.read() as conn:
            record = await repository.load(conn, params.resource_id(payment_id, "pay"), portal.portal_id)
        if record is None:
            raise Refused("not_found")
        return presenter.view(record)

    @get("/", summary="List payments, newest first", responses=problem_responses(400, 401))
    async def list_payments(
        self,
        portal: NamedDependency[PortalContext],
        db: NamedDependency[Database],
        dossier_code: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[str | None, QueryParameter(max_length=24)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> PaymentPage:
        after = params.id_cursor(cursor, "pay")
        async with db.read() as conn:
            records, next_cursor = await repository.page(
                conn, portal.portal_id, dossier_code=dossier_code, status=status, cursor=after, limit=limit
            )
        return PaymentPage(data=[presenter.view(r) for r in records], next_cursor=next_cursor)

    @post(
        "/{payment_id:str}/cancel",
        status_code=200,
        summary="Cancel an unpaid payment",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 502, 503),
    )
    async def cancel(
        self,
        payment_id: FromPath[str],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        payments: NamedDependency[PaymentService],
        data: JSONBody[CancelPayment | None] = None,
    ) -> PaymentOut:
        return presenter.view(await payments.cancel(portal, params.resource_id(payment_id, "pay")))

    @post(
        "/{payment_id:str}/refunds",
        status_code=201,
        summary="Refund a paid payment, fully or in part",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 422, 502, 503),
    )
    async def refund(
        self,
        payment_id: FromPath[str],
        data: JSONBody[CreateRefund],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        refunds: NamedDependency[RefundService],
    ) -> Response[RefundOut]:
        refund, status = await refunds.request(portal, attempt, params.resource_id(payment_id, "pay"), data)
        return Response(presenter.refund_view(refund), status_code=201 if status is RefundStatus.SUCCEEDED else 202)
