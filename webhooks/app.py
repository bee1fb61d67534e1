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


def create_worker_app() -> FastAPI:
    """Build the app in a web worker process that `tagih serve --workers N` started.

    Such a process starts afresh rather than from the `tagih` command, so it sets up its
    own logging first.
    """
    from tagih.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
