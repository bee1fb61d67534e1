"""`tagih serve`: the web process (FastAPI under uvicorn)."""

from __future__ import annotations

import sys

import click

from models.db import head_revision, schema_is_current
from tagih.settings import get_settings


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default HTTP_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default HTTP_PORT).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Web processes sharing the port; each has its own database pool and SNAP threads.",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Run the web app: SNAP endpoints, chat webhooks and health."""
    import uvicorn

    from webhooks.app import create_app

    settings = get_settings()
    if not schema_is_current():
        click.echo(
            f"Error: the database schema is not at the latest migration ({head_revision()}). "
            "Run `tagih db upgrade` first.",
            err=True,
        )
        sys.exit(1)
    options = {
        "host": host or settings.http_host,
        "port": port or settings.http_port,
        "log_level": settings.log_level.lower(),
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:
        # Each worker process imports the app factory and reads the settings itself.
        uvicorn.run("webhooks.app:create_worker_app", factory=True, workers=workers, **options)


COMMANDS = [serve]
