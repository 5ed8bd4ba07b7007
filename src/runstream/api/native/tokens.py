"""``POST …/{id}/stream-tokens``: read-only tokens for one execution, for browsers (SPEC §10).

A backend holding an API key mints a token and gives it to the page, which opens
``EventSource(…/stream?token=…)``. The token reads that execution only (its snapshot,
events, stream and, for a workflow, consolidated stream) until it expires.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from runstream.api.bodies import JsonBodyRoute
from runstream.api.errors import bad_request
from runstream.api.native.executions import ERRORS, json_response, operation_id
from runstream.api.native.params import EngineDep, ExecutionId, Org, load
from runstream.api.native.schemas import StreamTokenOut, StreamTokenRequest
from runstream.api.tokens import TokenSigner
from runstream.model import ExecutionType


def router(type: ExecutionType) -> APIRouter:
    """The stream-token route of workflow or of task executions."""
    routes = APIRouter(
        prefix=f"/api/orgs/{{org}}/{type.segment}",
        tags=["stream tokens"],
        route_class=JsonBodyRoute,
    )
    noun = "workflow" if type is ExecutionType.WORKFLOW else "task"

    @routes.post(
        "/{execution_id}/stream-tokens",
        status_code=201,
        response_model=None,
        summary=f"Mint a read-only stream token for a {noun} execution",
        operation_id=operation_id("mint", type, "StreamToken"),
        responses=ERRORS | {201: {"model": StreamTokenOut, "description": "The token."}},
    )
    async def mint(
        request: Request,
        org: Org,
        execution_id: ExecutionId,
        engine: EngineDep,
        body: StreamTokenRequest | None = None,
    ) -> Response:
        """A signed token that reads this execution until ``expiresAt``, even if the key
        that minted it is revoked meanwhile; pass it as ``?token=``."""
        body = body or StreamTokenRequest()
        snapshot = await load(engine, org, execution_id, type)
        signer: TokenSigner = request.app.state.auth.tokens
        types = tuple(t.strip() for t in body.types) if body.types else None
        try:
            token, expires = await signer.mint(
                execution_id=snapshot.id,
                org=org,
                type=type,
                ttl_seconds=body.ttlSeconds,
                types=types,
            )
        except ValueError as exc:
            raise bad_request("types", str(exc)) from None
        expires_at = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
        return json_response({"token": token, "expiresAt": expires_at}, 201)

    return routes
