"""`tagih org`: organisations and their first admin."""

from __future__ import annotations

import click
from sqlmodel import select

from billing.errors import UserError
from billing.orgs import create_organisation
from locales import N_, tr
from models import Organisation
from models.db import session_scope
from tagih.cli.common import cli_language, fail, print_json

USAGE_ERRORS = {
    "org.slug_invalid",
    "org.kind_invalid",
    "org.company_code_invalid",
    "org.admin_phone_invalid",
    "contact.email_invalid",
    "org.name_missing",
}


@click.group("org")
def org_group() -> None:
    """Organisations (merchants and schools)."""


@org_group.command("create")
@click.argument("slug")
@click.option("--kind", type=click.Choice(["invoice", "school"]), required=True)
@click.option("--name", required=True, help="Name shown to customers and parents.")
@click.option("--company-code", required=True, help="The bank's company code for VAs (digits).")
@click.option("--admin-phone", required=True, help="Phone of the super admin, e.g. 0812xxxxxxx.")
@click.option("--admin-name", default="", help="Name of the super admin.")
@click.option("--admin-email", default=None, help="E-mail of the super admin.")
@click.option("--language", type=click.Choice(["id", "en"]), default="id", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create(
    slug: str,
    kind: str,
    name: str,
    company_code: str,
    admin_phone: str,
    admin_name: str,
    admin_email: str | None,
    language: str,
    as_json: bool,
) -> None:
    """Create an organisation and its super admin."""
    try:
        with session_scope(write=True) as session:
            organisation = create_organisation(
                session,
                slug=slug,
                kind=kind,
                name=name,
                company_code=company_code,
                admin_phone=admin_phone,
                admin_name=admin_name,
                admin_email=admin_email,
                language=language,
            )
    except UserError as error:
        # A value that fails validation is wrong usage (exit 2); a clash with data is 1.
        usage = error.code in USAGE_ERRORS
        fail(error, as_json=as_json, exit_code=2 if usage else 1)
        return
    if as_json:
        print_json({"ok": True, "slug": organisation.slug, "id": organisation.id})
    else:
        kinds = {"invoice": N_("merchant"), "school": N_("school")}
        language = cli_language()
        click.echo(
            tr(
                language,
                "Created the {kind} organisation {slug} ({name}).",
                kind=tr(language, kinds[organisation.kind]),
                slug=organisation.slug,
                name=organisation.name,
            )
        )


@org_group.command("list")
def list_orgs() -> None:
    """List organisations."""
    with session_scope() as session:
        for organisation in session.exec(select(Organisation).order_by(Organisation.slug)):
            click.echo(
                f"{organisation.slug}\t{organisation.kind}\t{organisation.company_code}\t{organisation.name}"
            )


COMMANDS = [org_group]
