"""`tagih reconcile`: match a bank statement against the payments Tagih recorded."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from billing.errors import UserError
from billing.orgs import get_organisation
from billing.reconcile import build_workbook, read_statement, reconcile, summary
from locales import tr
from models.db import session_scope
from tagih.cli.common import cli_language, fail, print_json, write_output
from tagih.settings import get_settings


@click.command("reconcile")
@click.argument("statement", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="Slug of the organisation.")
@click.option("--confirm", is_flag=True, help="Record the payments the bank has and Tagih lacks.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the .xlsx result (default: STATEMENT-reconciliation.xlsx).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def reconcile_command(
    statement: Path, slug: str, confirm: bool, output: Path | None, as_json: bool
) -> None:
    """Match a bank statement (CSV or .xlsx: date, VA number, amount, reference)."""
    language = cli_language()
    try:
        lines, problems = read_statement(statement.name, statement.read_bytes(), get_settings())
        with session_scope(write=confirm) as session:
            organisation = get_organisation(session, slug)
            result = reconcile(session, organisation, lines, confirm=confirm)
            result.problems = problems
    except UserError as error:
        fail(error, as_json=as_json)
        return
    target = output or statement.with_name(statement.stem + "-reconciliation.xlsx")
    write_output(target, build_workbook(result, language))
    if as_json:
        print_json(
            {
                "ok": True,
                "matched": len(result.matched),
                "at_bank_only": len(result.recordable) + len(result.unrecordable),
                "recordable": len(result.recordable),
                "recorded": len(result.recorded),
                "in_tagih_only": len(result.not_at_bank),
                "skipped_rows": len(result.problems),
                "workbook": str(target),
            }
        )
    else:
        click.echo(summary(result, language))
        click.echo(tr(language, "Details: {path}", path=str(target)))
    sys.exit(0)


COMMANDS = [reconcile_command]
