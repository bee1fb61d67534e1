"""Liveness and readiness."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from models.db import schema_is_current
from tagih.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        current = schema_is_current()
        return JSONResponse(
            {"status": "ok" if current else "schema_outdated", "database": "ok"},
            status_code=200 if current else 503,
        )
