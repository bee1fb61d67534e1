"""Organisations from the CLI, and VA numbers under their company code."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from sqlmodel import select

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.orgs import get_organisation
from models import Notice, Organisation, StaffUser, VirtualAccount
from models.db import session_scope
from tagih.cli.main import cli


def _create(runner: CliRunner, *extra: str) -> object:
    return runner.invoke(
        cli,
        [
            "org",
            "create",
            "toko-maju",
            "--kind",
            "invoice",
            "--name",
            "Toko Maju",
            "--company-code",
            "88081",
            "--admin-phone",
            "0812-3456-7890",
            *extra,
        ],
    )


def test_org_create_stores_admin(database: str) -> None:
    result = _create(CliRunner(), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["slug"] == "toko-maju"
    with session_scope() as session:
        admin = session.exec(select(StaffUser)).one()
    assert admin.phone == "+6281234567890"
    assert admin.role == "super_admin"


def test_org_create_twice_rejected(database: str) -> None:
    runner = CliRunner()
    assert _create(runner).exit_code == 0
    second = _create(runner)
    assert second.exit_code == 1
    assert "already exists" in second.output


def test_org_create_bad_phone_in_indonesian(database: str) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--lang",
            "id",
            "org",
            "create",
            "sekolah",
            "--kind",
            "school",
            "--name",
            "S",
            "--company-code",
            "77001",
            "--admin-phone",
            "0812",
        ],
    )
    assert result.exit_code == 2
    assert "Nomor HP 0812 bukan nomor seluler yang valid" in result.output


def test_org_create_blank_name_rejected(database: str) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "org",
            "create",
            "sekolah",
            "--kind",
            "school",
            "--name",
            "  ",
            "--company-code",
            "77001",
            "--admin-phone",
            "081234567890",
        ],
    )
    assert result.exit_code == 2
    assert "organisation name is missing" in result.output


def test_va_numbers_never_reused(database: str) -> None:
    assert _create(CliRunner()).exit_code == 0
    drafts = [
        InvoiceDraft(
            number=f"INV-{n}",
            customer_name="Budi",
            phone="+6281234567890",
            due_date=dt.date(2031, 1, 15),
            lines=[LineDraft("SPP", 1, 350000, 350000)],
        )
        for n in range(3)
    ]
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-maju")
        issue_invoices(session, organisation, drafts[:2])
    try:
        with session_scope(write=True) as session:
            organisation = get_organisation(session, "toko-maju")
            issue_invoices(session, organisation, drafts[2:])
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-maju")
        issue_invoices(session, organisation, drafts[2:])
    with session_scope() as session:
        numbers = sorted(session.exec(select(VirtualAccount.number)).all())
        notices = session.exec(select(Notice)).all()
    assert numbers[0] == "8808100000000001"
    assert numbers[1] == "8808100000000002"
    assert len(numbers) == 3
    assert len(notices) == 3
    assert all(len(number) == 16 for number in numbers)


def test_company_code_zero_padded_twin_rejected(database: str) -> None:
    runner = CliRunner()
    assert _create(runner).exit_code == 0
    twin = _create_other(runner, "088081")
    assert twin.exit_code == 1
    assert "already belongs to another organisation" in twin.output


def _create_other(runner: CliRunner, code: str, *options: str) -> object:
    return runner.invoke(
        cli,
        [
            *options,
            "org",
            "create",
            "toko-lain",
            "--kind",
            "invoice",
            "--name",
            "Toko Lain",
            "--company-code",
            code,
            "--admin-phone",
            "081234567891",
        ],
    )


def test_company_code_prefix_overlap_rejected(database: str) -> None:
    runner = CliRunner()
    assert _create(runner).exit_code == 0
    for code in ("880810", "8808", "8"):
        overlap = _create_other(runner, code)
        assert overlap.exit_code == 1, code
        assert "overlaps the code 88081 of Toko Maju" in overlap.output, overlap.output
    indonesian = _create_other(runner, "880819", "--lang", "id")
    assert "bertumpang tindih dengan kode 88081" in indonesian.output
    created = _create_other(runner, "88082", "--lang", "id")
    assert created.exit_code == 0
    assert created.output == "Organisasi pedagang toko-lain (Toko Lain) dibuat.\n"
    with session_scope() as session:
        codes = sorted(code for code in session.exec(select(Organisation.company_code)))
    assert codes == ["88081", "88082"]


def test_company_code_overlap_compares_stored_digits(database: str) -> None:
    runner = CliRunner()
    assert _create(runner).exit_code == 0
    # VAs under 0880 start with 0, so they never equal VAs under 88081.
    assert _create_other(runner, "0880").exit_code == 0
    zero_prefix = runner.invoke(
        cli,
        [
            "org",
            "create",
            "toko-ketiga",
            "--kind",
            "invoice",
            "--name",
            "Toko Ketiga",
            "--company-code",
            "08801",
            "--admin-phone",
            "081234567892",
        ],
    )
    assert zero_prefix.exit_code == 1
    assert "overlaps the code 0880 of Toko Lain" in zero_prefix.output


def test_company_code_non_ascii_digits_rejected(database: str) -> None:
    result = _create_other(CliRunner(), "\u0661\u0662\u0663\u0664\u0665")
    assert result.exit_code == 2
    assert "is invalid: use 1 to 8 digits" in result.output
    with session_scope() as session:
        assert session.exec(select(Organisation)).all() == []


def test_template_into_missing_folder_is_usage_error(database: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    assert _create(runner).exit_code == 0
    target = tmp_path / "missing" / "template.xlsx"
    result = runner.invoke(
        cli, ["sheet", "template", "--org", "toko-maju", "--type", "bills", "-o", str(target)]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not target.exists()
