"""``/v1/payments``: thin handlers over the payment and refund services."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway import idempotency, params
from gateway.errors import Problem, problem_responses
from gateway.services import services
from gateway.web import IdempotencyKey, PortalApi, idempotent, portal_of, strict_body

from . import views
from .schemas import CancelPayment, CreatePayment, CreateRefund, PaymentOut, PaymentPage, RefundOut
from .service import Answer

LIST_FILTERS = frozenset({"dossier_code", "status", "cursor", "limit"})


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
        self, request: Request[Any, Any, Any], data: JSONBody[CreatePayment], idempotency_key: IdempotencyKey
    ) -> Response[PaymentOut]:
        svc = services(request)
        portal = portal_of(request)
        data = await strict_body(request, CreatePayment)
        return await idempotent(request, lambda claim: svc.payments.create(portal, claim, data, request.url.path))  # type: ignore[return-value]

    @get("/{payment_id:str}", summary="Get a payment", responses=problem_responses(400, 401, 404))
    async def get_one(self, request: Request[Any, Any, Any], payment_id: FromPath[str]) -> PaymentOut:
        async with services(request).db.read() as conn:
            record = await views.load(conn, params.resource_id(payment_id, "pay"), portal_of(request).portal_id)
        if record is None:
            raise Problem(404, "not_found")
        return views.view(record)

    @get("/", summary="List payments, newest first", responses=problem_responses(400, 401))
    async def list_payments(
        self,
        request: Request[Any, Any, Any],
        dossier_code: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[str | None, QueryParameter(max_length=24)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> PaymentPage:
        unknown = sorted(set(request.query_params) - LIST_FILTERS)
        if unknown:
            raise Problem(400, "invalid_request", f"unknown query parameter {unknown[0]!r}", field=unknown[0])
        after = params.id_cursor(cursor, "pay")
        async with services(request).db.read() as conn:
            records, next_cursor = await views.list_page(
                conn, portal_of(request).portal_id, dossier_code=dossier_code, status=status, cursor=after, limit=limit
            )
        return PaymentPage(data=[views.view(r) for r in records], next_cursor=next_cursor)

    @post(
        "/{payment_id:str}/cancel",
        status_code=200,
        summary="Cancel an unpaid payment",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 502, 503),
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        payment_id: FromPath[str],
        idempotency_key: IdempotencyKey,
        data: JSONBody[CancelPayment | None] = None,
    ) -> Response[PaymentOut]:
        svc = services(request)
        payment_id = params.resource_id(payment_id, "pay")

        async def action(claim: idempotency.Claim) -> Answer:
            record = await svc.payments.cancel(portal_of(request), payment_id)
            answer = Answer(200, msgspec.json.encode(views.view(record)))
            async with svc.db.transaction() as tx:
                await idempotency.complete(tx, claim, answer.status_code, answer.body, payment_id)
            return answer

        return await idempotent(request, action)  # type: ignore[return-value]

    @post(
        "/{payment_id:str}/refunds",
        status_code=201,
        summary="Refund a paid payment, fully or in part",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 422, 502, 503),
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        payment_id: FromPath[str],
        data: JSONBody[CreateRefund],
        idempotency_key: IdempotencyKey,
    ) -> Response[RefundOut]:
        svc = services(request)
        portal = portal_of(request)
        payment_id = params.resource_id(payment_id, "pay")
        data = await strict_body(request, CreateRefund)
        return await idempotent(  # type: ignore[return-value]
            request, lambda claim: svc.refunds.request(portal, claim, payment_id, data, request.url.path)
        )
