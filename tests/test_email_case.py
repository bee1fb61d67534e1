"""E-mail addresses are stored in lower case and found whatever case they are typed in."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlmodel import Session, select

from billing.contacts import checked_email
from billing.errors import UserError
from billing.invoices import (
    InvoiceDraft,
    LineDraft,
    count_new_payers,
    find_or_create_customer,
    issue_invoices,
)
from billing.orgs import create_organisation, get_organisation
from billing.school.actors import OPERATOR
from billing.school.staff import find_staff, import_staff_sheet
from billing.school.students import add_student
from models import Customer, Invoice, Organisation, StaffUser, StudentGuardian
from models.db import session_scope
from tagih.cli.main import cli

ADMIN_PHONE = "0812-0000-0100"


def _run(*args: str, lang: str = "en") -> Result:
    return CliRunner().invoke(cli, ["--lang", lang, *args])


def _create(session: Session, slug: str, kind: str, code: str) -> Organisation:
    return create_organisation(
        session,
        slug=slug,
        kind=kind,
        name=slug.title(),
        company_code=code,
        admin_phone=ADMIN_PHONE,
        admin_name="Admin",
    )


@pytest.fixture
def orgs(database: str) -> None:
    with session_scope(write=True) as session:
        school = _create(session, "smp-b", "school", "7701")
        _create(session, "toko-b", "invoice", "7702")
        for nis, name in [("1001", "Ani"), ("1002", "Bayu")]:
            add_student(session, school, OPERATOR, nis=nis, name=name, class_name="7A")


def _draft(number: str, email: str, name: str = "PT Contoh") -> InvoiceDraft:
    return InvoiceDraft(
        number=number,
        customer_name=name,
        due_date=dt.date(2027, 1, 31),
        lines=[LineDraft("Jasa", 1, 100_000, 100_000)],
        email=email,
    )


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Fin.Upper@Example.COM", "fin.upper@example.com"),
        ("  ani@example.com ", "ani@example.com"),
        ("mailto:Ani@Example.com", "ani@example.com"),
        ("", None),
        (None, None),
    ],
)
def test_checked_email_folds(typed: str | None, stored: str | None) -> None:
    assert checked_email(typed) == stored


@pytest.mark.parametrize(
    "typed", ["not-an-address", "ani@example", "ani@@example.com", "a b@example.com"]
)
def test_checked_email_rejects(typed: str) -> None:
    with pytest.raises(UserError) as raised:
        checked_email(typed)
    assert raised.value.code == "contact.email_invalid"
    assert typed in raised.value.render("en")


def test_checked_email_rejects_too_long() -> None:
    with pytest.raises(UserError):
        checked_email("a" * 250 + "@example.com")


def test_staff_add_cli_stores_lower_case(orgs: None) -> None:
    result = _run(
        "school", "staff", "add", "--org", "toko-b", "--name", "Fin Upper",
        "--role", "finance", "--email", "Fin.Upper@Example.COM", "--as", ADMIN_PHONE,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        organisation = get_organisation(session, "toko-b")
        staff = find_staff(session, organisation, "FIN.UPPER@example.com")
        assert staff.email == "fin.upper@example.com"
        assert staff.name == "Fin Upper"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "The e-mail address fin.upper@example is invalid."),
        ("id", "Alamat e-mail fin.upper@example tidak valid."),
    ],
)
def test_staff_add_cli_rejects_bad_email(orgs: None, lang: str, expected: str) -> None:
    result = _run(
        "school", "staff", "add", "--org", "toko-b", "--name", "Fin Upper",
        "--role", "finance", "--email", "fin.upper@example", lang=lang,
    )  # fmt: skip
    assert result.exit_code == 1
    assert expected in result.output
    with session_scope() as session:
        count = len(session.exec(select(StaffUser).where(StaffUser.name == "Fin Upper")).all())
    assert count == 0


def test_staff_change_cli_finds_any_case(orgs: None) -> None:
    _run(
        "school", "staff", "add", "--org", "toko-b", "--name", "Fin Upper",
        "--role", "finance", "--email", "fin.upper@example.com",
    )  # fmt: skip
    result = _run(
        "school", "staff", "change", "Fin.Upper@EXAMPLE.com", "--org", "toko-b",
        "--name", "Fin Baru", "--role", "admin", "--email", "FIN.BARU@Example.com",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        staff = session.exec(select(StaffUser).where(StaffUser.name == "Fin Baru")).one()
    assert staff.email == "fin.baru@example.com"
    assert staff.role == "admin"


def test_staff_sheet_stores_lower_case(orgs: None) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Nama", "Peran", "Email"])
    sheet.append(["Bu Ina", "admin", " Ina.Admin@Example.COM "])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "smp-b")
        result = import_staff_sheet(session, organisation, OPERATOR, buffer.getvalue())
        staff = find_staff(session, organisation, "ina.admin@example.com")
        assert result.created == 1
        assert staff.email == "ina.admin@example.com"


def test_parent_link_cli_one_parent_any_case(orgs: None) -> None:
    for nis, email in [("1001", "Ani.Parent@Example.com"), ("1002", "ani.parent@example.com")]:
        result = _run(
            "school", "parent", "link", "--org", "smp-b", "--nis", nis,
            "--name", "Ibu Ani", "--email", email,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    with session_scope() as session:
        parents = session.exec(select(Customer).where(Customer.name == "Ibu Ani")).all()
        links = session.exec(select(StudentGuardian)).all()
        assert [parent.email for parent in parents] == ["ani.parent@example.com"]
        assert {link.customer_id for link in links} == {parents[0].id}
        assert len(links) == 2


def test_parent_link_cli_rejects_bad_email(orgs: None) -> None:
    result = _run(
        "school", "parent", "link", "--org", "smp-b", "--nis", "1001",
        "--name", "Ibu Ani", "--email", "ani.parent.example.com",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "ani.parent.example.com" in result.output
    with session_scope() as session:
        assert session.exec(select(Customer)).all() == []


def _create_toko_c(admin_email: str, lang: str = "en") -> Result:
    return _run(
        "org", "create", "toko-c", "--kind", "invoice", "--name", "Toko C",
        "--company-code", "7703", "--admin-phone", ADMIN_PHONE,
        "--admin-email", admin_email, lang=lang,
    )  # fmt: skip


def test_org_create_folds_admin_email(database: str) -> None:
    result = _create_toko_c(" Boss@Example.COM ")
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        admin = session.exec(select(StaffUser)).one()
    assert admin.email == "boss@example.com"


def test_org_create_rejects_bad_admin_email(database: str) -> None:
    result = _create_toko_c("boss-at-example.com", lang="id")
    assert result.exit_code == 2
    assert "Alamat e-mail boss-at-example.com tidak valid." in result.output
    with session_scope() as session:
        assert session.exec(select(Organisation)).all() == []


def test_issue_invoices_one_customer_any_case(orgs: None) -> None:
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-b")
        drafts = [_draft("INV-1", "Buyer@Example.com"), _draft("INV-2", "buyer@EXAMPLE.com")]
        assert count_new_payers(session, organisation, drafts) == 1
        issued = issue_invoices(session, organisation, drafts)
        later = issue_invoices(session, organisation, [_draft("INV-3", " BUYER@example.com")])
        customers = session.exec(select(Customer)).all()
        assert [customer.email for customer in customers] == ["buyer@example.com"]
        assert {item.customer.id for item in issued + later} == {customers[0].id}


def test_issue_invoices_rejects_bad_email(orgs: None) -> None:
    with session_scope() as session:
        organisation = get_organisation(session, "toko-b")
        with pytest.raises(UserError) as raised:
            issue_invoices(session, organisation, [_draft("INV-1", "buyer@")])
    assert raised.value.code == "contact.email_invalid"
    with session_scope() as session:
        assert session.exec(select(Invoice)).all() == []


def test_find_or_create_customer_any_case(orgs: None) -> None:
    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-b")
        cache: dict[tuple, Customer] = {}
        first = find_or_create_customer(
            session, organisation, _draft("INV-1", "Buyer@Example.com"), cache
        )
        second = find_or_create_customer(
            session, organisation, _draft("INV-2", "buyer@example.COM"), {}
        )
        assert first.email == "buyer@example.com"
        assert second.id == first.id
