"""A school term run through the `tagih school` commands, checked in the database."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from models import (
    Invoice,
    InvoiceStatus,
    NewsPost,
    Notice,
    NoticeKind,
    Student,
    VirtualAccount,
)
from models.db import session_scope
from tagih.cli.main import cli
from tagih.settings import get_settings, reset_settings_cache
from tests.fakes.servers import ServerThread
from webhooks.app import create_app

SUPER_ADMIN = "081200000001"
FINANCE = "081200000002"
TEACHER = "081200000004"
# A fixed month keeps invoice numbers stable, and --allow-past keeps the runs valid after
# its due date has passed.
PAST_ALLOWED = ("--period", "2027-01", "--allow-past")


def _run(*args: str, lang: str = "en") -> Result:
    result = CliRunner().invoke(cli, ["--lang", lang, *args])
    assert result.exit_code == 0, result.output + result.stderr
    return result


def _school(*args: str, as_phone: str = SUPER_ADMIN, lang: str = "en") -> Result:
    return _run("school", *args, "--org", "smp-harapan", "--as", as_phone, lang=lang)


def _fails(*args: str, as_phone: str) -> Result:
    result = CliRunner().invoke(cli, ["school", *args, "--org", "smp-harapan", "--as", as_phone])
    assert result.exit_code == 1
    return result


def _register_school() -> None:
    _run(
        "org",
        "create",
        "smp-harapan",
        "--kind",
        "school",
        "--name",
        "SMP Harapan",
        "--company-code",
        "8808",
        "--admin-phone",
        SUPER_ADMIN,
        "--admin-name",
        "Bu Sari",
    )
    _school("staff", "add", "--name", "Pak Budi", "--phone", FINANCE, "--role", "finance")
    _school("staff", "add", "--name", "Bu Rina", "--phone", "081200000003", "--role", "admin")
    _school(
        "staff", "add", "--name", "Pak Joko", "--phone", TEACHER, "--role", "guru", "--class", "7A"
    )
    for nis, name, class_name in [
        ("1001", "Ani", "7A"),
        ("1002", "Bayu", "7B"),
        ("1003", "Citra", "9A"),
    ]:
        _school("student", "add", "--nis", nis, "--name", name, "--class", class_name)
    _school("parent", "link", "--nis", "1001", "--name", "Ibu Ani", "--phone", "081300000001")
    _school("parent", "link", "--nis", "1002", "--name", "Ibu Ani", "--phone", "0813-0000-0001")
    _school(
        "parent",
        "link",
        "--nis",
        "1002",
        "--name",
        "Mr Bayu",
        "--phone",
        "081300000002",
        "--language",
        "en",
        "--no-payer",
    )
    _school(
        "parent", "link", "--nis", "1003", "--name", "Ibu Citra", "--email", "citra@example.com"
    )


def _add_spp(amount: int, classes: str | None = None) -> None:
    """Add an SPP fee due on the 10th, as finance, for the classes or the whole school."""
    audience = ["--class", classes] if classes else []
    _school(
        "fees",
        "add",
        "--component",
        "SPP",
        "--amount",
        str(amount),
        "--day",
        "10",
        *audience,
        as_phone=FINANCE,
    )


def test_school_term_through_cli(database: str, tmp_path: Path) -> None:
    _register_school()
    staff = json.loads(_school("staff", "list", "--json").output)
    assert [member["role"] for member in staff] == ["admin", "finance", "super_admin", "teacher"]

    # A month of SPP, previewed by finance, run twice.
    _add_spp(350_000, "7A,7B")
    _add_spp(400_000, "9A")
    preview = json.loads(
        _school("fees", "preview", "--period", "2027-01", "--json", as_phone=FINANCE).output
    )
    first = json.loads(_school("fees", "run", *PAST_ALLOWED, "--json", as_phone=FINANCE).output)
    second = json.loads(_school("fees", "run", *PAST_ALLOWED, "--json", as_phone=FINANCE).output)
    assert preview["count"] == 3
    assert preview["total"] == 1100000
    assert first["issued"] == 3
    assert second["issued"] == 0
    assert {item["status"] for item in second["items"]} == {"exists"}

    # News to one class reaches that class's parents only.
    posted = json.loads(
        _school(
            "news",
            "post",
            "--title-id",
            "Kunjungan museum",
            "--text-id",
            "Bawa bekal.",
            "--title-en",
            "Museum visit",
            "--text-en",
            "Bring lunch.",
            "--class",
            "7A",
            "--json",
            as_phone=TEACHER,
        ).output
    )
    refused = _fails(
        "news",
        "post",
        "--title-id",
        "Libur",
        "--text-id",
        "Libur.",
        "--class",
        "7B",
        as_phone=TEACHER,
    )
    assert posted["parents"] == 1
    assert "7B" in refused.stderr
    with session_scope() as session:
        news_notices = session.exec(select(Notice).where(Notice.kind == NoticeKind.NEWS)).all()
    assert [n.recipient_phone for n in news_notices] == ["+6281300000001"]
    assert news_notices[0].payload["title"] == "Kunjungan museum"

    # The calendar, read by a parent and exported.
    _school(
        "calendar",
        "add",
        "--title-id",
        "Ujian semester",
        "--title-en",
        "Semester exams",
        "--date",
        "2027-01-11",
        "--until",
        "2027-01-15",
    )
    _school("calendar", "add", "--title-id", "Kemah 9A", "--date", "2027-01-20", "--class", "9A")
    month = _school(
        "calendar",
        "list",
        "--month",
        "2027-01",
        "--parent",
        "081300000001",
        "--png",
        str(tmp_path / "month.png"),
        lang="id",
    ).output
    assert "Kalender Januari 2027" in month
    assert "Ujian semester" in month
    assert "Kemah 9A" not in month
    assert (tmp_path / "month.png").read_bytes().startswith(b"\x89PNG")
    _school(
        "calendar",
        "export",
        "-o",
        str(tmp_path / "school.ics"),
        "--parent",
        "081300000002",
        "--since",
        "2027-01-01",
    )
    exported = icalendar.Calendar.from_ical((tmp_path / "school.ics").read_bytes())
    assert [str(e["SUMMARY"]) for e in exported.walk("VEVENT")] == ["Semester exams"]

    # A parent with two children sees both children's bills, per child.
    bills = json.loads(_school("bills", "--parent", "081300000001", "--json").output)
    assert [child["student"] for child in bills["children"]] == ["Ani", "Bayu"]
    assert bills["total"] == 700000

    # The end of the year: 9A graduates, 7A and 7B move up; bills stay.
    _school("student", "promote", "--map", "7A=8A", "--map", "7B=8B", "--graduate", "9A")
    with session_scope() as session:
        classes = {s.nis: (s.class_name, s.active) for s in session.exec(select(Student))}
        invoices = session.exec(select(Invoice)).all()
        accounts = session.exec(select(VirtualAccount)).all()
    assert classes == {"1001": ("8A", True), "1002": ("8B", True), "1003": ("9A", False)}
    assert len(invoices) == 3
    assert len(accounts) == 3


@pytest.mark.parametrize(
    ("args", "phone"),
    [
        (("staff", "add", "--name", "X", "--phone", "081311110000", "--role", "admin"), FINANCE),
        (("fees", "run", "--period", "2027-01"), TEACHER),
        (("student", "add", "--nis", "9", "--name", "X", "--class", "7A"), FINANCE),
    ],
)
def test_cli_checks_roles(sqlite_database: str, args: tuple[str, ...], phone: str) -> None:
    _register_school()
    result = _fails(*args, as_phone=phone)
    assert "cannot do this" in result.stderr


def test_cli_unknown_staff_phone(sqlite_database: str) -> None:
    _register_school()
    result = _fails("student", "list", as_phone="081399999999")
    assert "No active staff member" in result.stderr


def test_spp_paid_through_bank_simulator(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAP_DEV_KEY_FILE", str(tmp_path / "dev-bank-key.pem"))
    reset_settings_cache()
    _register_school()
    _add_spp(350_000)
    _school("fees", "run", *PAST_ALLOWED, as_phone=FINANCE)
    before = json.loads(_school("bills", "--parent", "081300000001", "--json").output)
    vas = [bill["va"] for child in before["children"] for bill in child["bills"]]
    assert len(vas) == 2

    with ServerThread(create_app(get_settings())) as server:
        for va in vas:
            _run("bank", "pay", va, "350000", "--url", server.url)
        again = CliRunner().invoke(cli, ["bank", "pay", vas[0], "350000", "--url", server.url])

    assert again.exit_code == 1  # a paid VA takes no second payment
    after = json.loads(_school("bills", "--parent", "081300000001", "--json").output)
    assert after["count"] == 0
    with session_scope() as session:
        statuses = {i.number: i.status for i in session.exec(select(Invoice))}
        receipts = session.exec(select(Notice).where(Notice.kind == NoticeKind.RECEIPT)).all()
    assert statuses["SPP-2027-01-1001"] == InvoiceStatus.PAID
    assert statuses["SPP-2027-01-1002"] == InvoiceStatus.PAID
    assert statuses["SPP-2027-01-1003"] == InvoiceStatus.ISSUED
    assert [r.recipient_phone for r in receipts] == ["+6281300000001", "+6281300000001"]


def test_cli_moves_student_and_stops_fee(sqlite_database: str) -> None:
    _register_school()
    _school("student", "move", "1002", "--class", "7a")
    _add_spp(350_000, "7A")
    preview = json.loads(
        _school("fees", "preview", "--period", "2027-01", "--json", as_phone=FINANCE).output
    )
    stopped = _school("fees", "stop", "1", as_phone=FINANCE)
    after = json.loads(
        _school("fees", "preview", "--period", "2027-01", "--json", as_phone=FINANCE).output
    )
    assert [item["nis"] for item in preview["items"]] == ["1001", "1002"]
    assert "Stopped fee 1: SPP." in stopped.output
    assert after["items"] == []


def test_cli_correct_text_only(sqlite_database: str) -> None:
    _register_school()
    _school("news", "post", "--title-id", "Libur", "--text-id", "Libur hari Jumat.")
    corrected = _school("news", "correct", "1", "--text-id", "Koreksi")
    with session_scope() as session:
        post = session.exec(select(NewsPost)).one()
    assert "version 2" in corrected.output
    assert post.title_id == "Libur"
    assert post.body_id == "Koreksi"
