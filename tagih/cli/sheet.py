"""`tagih sheet`: templates, checking and importing spreadsheets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from billing.errors import UserError
from billing.imports import check_sheet, describe_preview, import_sheet, resolve_type
from billing.orgs import get_organisation
from billing.sheets.annotate import annotate_sheet
from billing.sheets.templates import build_template
from models.db import session_scope
from tagih.cli.common import cli_language, fail, print_json, write_output

TYPE_CHOICE = click.Choice(["bills", "customers", "students"])


@click.group("sheet")
def sheet_group() -> None:
    """Spreadsheets: templates, checks and imports."""


@sheet_group.command("template")
@click.option("--org", "slug", required=True, help="Slug of the organisation.")
@click.option("--type", "sheet_type", type=TYPE_CHOICE, default="bills", show_default=True)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="Path of the .xlsx file to write.",
)  # fmt: skip
def template(slug: str, sheet_type: str, output: Path) -> None:
    """Write an .xlsx template made for the organisation."""
    try:
        with session_scope() as session:
            organisation = get_organisation(session, slug)
            kind = resolve_type(organisation, sheet_type)
            assert kind is not None
            content = build_template(session, organisation, kind)
    except UserError as error:
        fail(error, exit_code=2)
        return
    write_output(output, content)
    click.echo(f"{output}")


def _run(
    path: Path,
    slug: str,
    sheet_type: str | None,
    as_json: bool,
    *,
    write: bool,
    skip_invalid: bool = False,
    annotated: Path | None = None,
) -> None:
    language = cli_language()
    content = path.read_bytes()
    try:
        with session_scope(write=write) as session:
            organisation = get_organisation(session, slug)
            if write:
                result = import_sheet(
                    session,
                    organisation,
                    path.name,
                    content,
                    sheet_type=sheet_type,
                    skip_invalid=skip_invalid,
                )
            else:
                result = check_sheet(
                    session, organisation, path.name, content, sheet_type=sheet_type
                )
    except UserError as error:
        fail(error, exit_code=2, as_json=as_json)
        return
    if annotated is not None and result.file_error is None:
        write_output(annotated, annotate_sheet(content, result, language))
    if as_json:
        print_json(result.to_json(language))
    else:
        click.echo(describe_preview(result, language))
        if result.imported is not None:
            click.echo(_imported_line(language, result.imported))
    sys.exit(0 if result.ok else 1)


def _imported_line(language: str, count: int) -> str:
    from locales import trn

    return trn(language, "{count} record written.", "{count} records written.", count)


@sheet_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="Slug of the organisation.")
@click.option(
    "--type",
    "sheet_type",
    type=TYPE_CHOICE,
    default=None,
    help="Read the sheet as this type instead of recognising it from the headers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option(
    "--annotate",
    "annotated",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a copy of the sheet with its problems marked.",
)
# fmt: skip
def check(
    file: Path, slug: str, sheet_type: str | None, as_json: bool, annotated: Path | None
) -> None:
    """Check a sheet and print what importing it would do; nothing is written."""
    _run(file, slug, sheet_type, as_json, write=False, annotated=annotated)


@sheet_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="Slug of the organisation.")
@click.option(
    "--type",
    "sheet_type",
    type=TYPE_CHOICE,
    default=None,
    help="Read the sheet as this type instead of recognising it from the headers.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the rows without errors and skip the rest (default: all or nothing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
# fmt: skip
def import_(
    file: Path, slug: str, sheet_type: str | None, skip_invalid: bool, as_json: bool
) -> None:
    """Import a sheet: invoices with their VAs and notices, or registrations."""
    _run(file, slug, sheet_type, as_json, write=True, skip_invalid=skip_invalid)


COMMANDS = [sheet_group]
