"""SNAP bank endpoints: access token, VA inquiry, VA payment.

The routes only carry bytes to billing.snap.service and its response back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from billing.snap import codes
from billing.snap.connections import default_connection
from billing.snap.service import (
    MAX_BODY_BYTES,
    SERVICE_PATHS,
    SnapConfig,
    SnapRequest,
    handle_request,
)
from billing.snap.signature import format_timestamp
from models.types import utcnow
from tagih.settings import Settings
from webhooks.snap import schemas

_DOCS = {
    codes.SERVICE_TOKEN: (
        "B2B access token (SNAP service 73)",
        schemas.TOKEN_REQUEST,
        schemas.TOKEN_HEADERS,
    ),
    codes.SERVICE_INQUIRY: (
        "VA inquiry (SNAP service 24)",
        schemas.INQUIRY_REQUEST,
        schemas.TRANSACTION_HEADERS,
    ),
    codes.SERVICE_PAYMENT: (
        "VA payment (SNAP service 25)",
        schemas.PAYMENT_REQUEST,
        schemas.TRANSACTION_HEADERS,
    ),
}


async def read_body(request: Request) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES of the body; the flag is True when it was longer."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


def _endpoint(
    service: str, config: SnapConfig, limiter: CapacityLimiter
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        body, too_large = await read_body(request)
        snap_request = SnapRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
            received_at=utcnow(),
            body_too_large=too_large,
        )
        response = await anyio.to_thread.run_sync(
            handle_request, service, snap_request, config, limiter=limiter
        )
        return JSONResponse(
            response.body,
            status_code=response.status,
            headers={"X-TIMESTAMP": format_timestamp(utcnow())},
        )

    return endpoint


def install(app: FastAPI, settings: Settings) -> None:
    """Add the SNAP routes under the configured path prefix.

    Connections in the bank_connection table may use other prefixes. Their requests reach
    the same handlers through catch-all routes, and the handler checks that the prefix
    belongs to the connection whose credentials the request carries.
    """
    config = SnapConfig(
        default_connection=default_connection(settings),
        timestamp_window_seconds=settings.snap_timestamp_window_seconds,
        token_ttl_seconds=settings.snap_token_ttl_seconds,
    )
    app.state.snap_config = config
    prefix = config.default_connection.path_prefix
    # Bounded apart from the default thread pool, so a burst of payments cannot take every
    # thread from the chat webhooks, and fewer threads contend for the interpreter lock.
    limiter = CapacityLimiter(settings.snap_worker_threads)
    for service, suffix in SERVICE_PATHS.items():
        summary, body_schema, headers = _DOCS[service]
        endpoint = _endpoint(service, config, limiter)
        app.add_api_route(
            prefix + suffix,
            endpoint,
            methods=["POST"],
            tags=["snap"],
            summary=summary,
            operation_id=f"snap_{service}",
            openapi_extra=schemas.openapi_extra(body_schema, headers),
        )
        app.add_api_route(
            "/{bank_prefix:path}" + suffix, endpoint, methods=["POST"], include_in_schema=False
        )
        if prefix:
            # A connection with an empty path prefix: the catch-all above needs one segment.
            app.add_api_route(suffix, endpoint, methods=["POST"], include_in_schema=False)
