"""Entry point of the `tagih` command."""

from __future__ import annotations

import sys

import click

from tagih.settings import SettingsError, get_settings

# Commands that manage the schema themselves and must not trigger the automatic upgrade.
_NO_AUTO_MIGRATE = {"db"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(["id", "en"]),
    default="en",
    show_default=True,
    help="Language of the messages this command prints.",
)
@click.pass_context
def cli(ctx: click.Context, lang: str) -> None:
    """Tagih: billing in chat for Indonesian merchants and schools."""
    from tagih.logs import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["language"] = lang
    try:
        settings = get_settings()
        settings.check_production_secrets()
        settings.check_bank_public_key()
        settings.check_tagih_private_key()
    except SettingsError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    configure_logging(settings.log_level)
    if not settings.is_production and ctx.invoked_subcommand not in _NO_AUTO_MIGRATE:
        from models.db import upgrade_to_head

        upgrade_to_head()


def _register() -> None:
    from tagih.cli import bank, chat, db, demo, jobs, org, reconcile, school, serve, sheet

    for module in (bank, chat, db, demo, jobs, org, reconcile, school, serve, sheet):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="tagih")
