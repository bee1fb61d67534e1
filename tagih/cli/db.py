"""`tagih db`: schema migrations."""

from __future__ import annotations

import click

from models.db import current_revision, head_revision, upgrade_to_head


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def upgrade() -> None:
    """Bring the database to the latest migration."""
    upgrade_to_head()
    click.echo(f"Database schema is at {head_revision()}.")


@db_group.command("current")
def current() -> None:
    """Print the database's migration and the latest one."""
    click.echo(f"current: {current_revision()}  latest: {head_revision()}")


COMMANDS = [db_group]
