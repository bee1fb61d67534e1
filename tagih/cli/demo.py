"""`tagih demo`: the bill-to-paid story end to end on a throwaway database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of counts.")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo database and files (default: a new temporary folder).",
)
def demo(as_json: bool, folder: Path | None) -> None:
    """Import a sample sheet, notify customers, pay one VA over SNAP, make the receipt."""
    from tagih.demo import DemoFailed, run_demo, summary_json

    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        summary = run_demo(sys.stdout, folder)
    except DemoFailed as error:
        click.echo(f"Error: the demo stopped: {error}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(summary_json(summary)))


COMMANDS = [demo]
