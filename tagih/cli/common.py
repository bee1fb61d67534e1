"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from billing.errors import UserError


def cli_language(ctx: click.Context | None = None) -> str:
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return (root.obj or {}).get("language", "en") if root else "en"


def fail(error: UserError, *, exit_code: int = 1, as_json: bool = False) -> None:
    """Print a user error in the CLI language (or as JSON) and exit."""
    text = error.render(cli_language())
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"code": error.code, "message": text}}))
    else:
        click.echo(f"Error: {text}", err=True)
    sys.exit(exit_code)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def write_output(path: Path, content: bytes) -> None:
    """Write a file the user asked for, or exit 2 naming the path and the fix."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.UsageError(
            f"The folder {folder} does not exist. Create it first or choose another path."
        )
    try:
        path.write_bytes(content)
    except OSError as error:
        raise click.UsageError(
            f"Could not write {path}: {error.strerror}. Choose a path you can write to."
        ) from error
