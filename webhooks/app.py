"""Build the FastAPI app from the route modules; each module installs its own routes."""

from __future__ import annotations

from fastapi import FastAPI

from tagih.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Tagih", version="0.1.0")
    app.state.settings = settings

    from webhooks import health, snap, telegram, whatsapp

    for module in (health, snap, telegram, whatsapp):
        module.install(app, settings)
    return app
