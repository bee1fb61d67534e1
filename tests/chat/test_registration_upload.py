"""Registration sheets in chat: customers and students-and-parents, previewed and saved."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlmodel import col, select

from bot.core import CallbackData, Op
from models import BatchStatus, Customer, ImportBatch, Student, StudentGuardian
from models.db import session_scope
from tests.chat.conftest import ADMIN, MERCHANT_ADMIN, SCHOOL_ADMIN, SCHOOL_FINANCE, World

CUSTOMER_HEADER = ["Nama Pelanggan", "No. HP", "Email", "Bahasa"]
CUSTOMER_ROWS = [
    ["Citra Dewi", "081298760001", "", "id"],
    ["Dodi Pratama", "0812-9876-0002", "dodi@example.com", "en"],
    ["Budi Santoso", "081299990000", "", ""],  # registered by the fixtures
]
NO_CONTACT_ROW = ["Eka Putri", "", "", ""]  # row 5: neither phone nor e-mail

STUDENT_HEADER = ["NIS", "Nama Siswa", "Kelas", "Nama Orang Tua", "No. HP Orang Tua"]
STUDENT_ROWS = [
    ["2001", "Gita", "1A", "Hendra Wijaya", "081277770101"],
    ["2002", "Indra", "3B", "Hendra Wijaya", "081277770101"],
    ["2003", "Joko", "5C", "Dewi Lestari", "081277770000"],  # parent in the fixtures
    ["1001", "Andi", "4A", "Dewi Lestari", "081277770000"],  # student in the fixtures
]

TEXTS = {
    "id": {
        "upload_customers": "Unggah sheet pelanggan",
        "customers_checked": "Sheet pelanggan sudah dicek: 2 pelanggan baru, 1 sudah terdaftar.",
        "save_all": "Simpan semua",
        "save_valid": "Simpan yang valid saja",
        "customers_saved": "Selesai: 2 pelanggan baru disimpan.",
        "one_problem": "1 masalah. Baris yang bermasalah tidak disimpan:",
        "row_5": "• Baris 5",
        "rows_skipped": "Baris yang tidak disimpan: 5.",
        "students_checked": "Sheet siswa sudah dicek: 3 siswa baru, 1 sudah terdaftar.",
        "parents": "Orang tua: 1 baru, 1 sudah terdaftar.",
        "shared": "Orang tua yang sama untuk kakak-adik:",
        "students_saved": (
            "Selesai: 3 siswa baru disimpan, dengan 1 orang tua baru dan 3 tautan siswa-orang tua."
        ),
        "rejected": "Ini sheet siswa dan orang tua.",
        "rejected_role": "peran Anda (keuangan)",
        "template": "Unduh template",
        "student_template": "Template siswa",
    },
    "en": {
        "upload_customers": "Upload a customer sheet",
        "customers_checked": "Customer sheet checked: 2 new customers, 1 already registered.",
        "save_all": "Save all",
        "save_valid": "Save only valid rows",
        "customers_saved": "Done: 2 new customers saved.",
        "one_problem": "1 problem. Rows with problems are not saved:",
        "row_5": "• Row 5",
        "rows_skipped": "Rows not saved: 5.",
        "students_checked": "Student sheet checked: 3 new students, 1 already registered.",
        "parents": "Parents: 1 new, 1 already registered.",
        "shared": "Parents shared by siblings:",
        "students_saved": (
            "Done: 3 new students saved, with 1 new parents and 3 student-parent links."
        ),
        "rejected": "This is a student and parent sheet.",
        "rejected_role": "your role (finance)",
        "template": "Get a template",
        "student_template": "Student template",
    },
}


@pytest.fixture(params=["id", "en"])
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _workbook(header: list[str], rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _start(chat, phone: str, language: str):  # type: ignore[no-untyped-def]
    """Make a verified chat user and switch their language."""
    user = chat(phone)
    user.press(CallbackData(Op.LANGUAGE, key=language).encode())
    return user


def _customer_names(organisation_id: int) -> set[str]:
    with session_scope() as session:
        query = select(Customer.name).where(Customer.organisation_id == organisation_id)
        return set(session.exec(query).all())


def test_admin_saves_customer_sheet(more_staff: World, chat, language: str) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS[language]
    user = _start(chat, MERCHANT_ADMIN, language)
    user.say("menu")
    user.choose(texts["upload_customers"])

    user.send_document("pelanggan.xlsx", _workbook(CUSTOMER_HEADER, CUSTOMER_ROWS))

    preview = "\n".join(user.texts()[-2:])
    assert texts["customers_checked"] in preview
    assert texts["save_valid"] not in user.options()
    assert not [name for name in user.documents() if name.startswith("checked-")]
    user.choose(texts["save_all"])
    assert texts["customers_saved"] in "\n".join(user.texts())
    with session_scope() as session:
        citra = session.exec(select(Customer).where(Customer.name == "Citra Dewi")).one()
        dodi = session.exec(select(Customer).where(Customer.name == "Dodi Pratama")).one()
    assert citra.organisation_id == more_staff.merchant_id
    assert citra.phone == "+6281298760001"
    assert dodi.email == "dodi@example.com"
    assert dodi.language == "en"


def test_bad_row_saves_only_valid(world: World, chat, language: str) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS[language]
    user = _start(chat, ADMIN, language)

    content = _workbook(CUSTOMER_HEADER, [*CUSTOMER_ROWS, NO_CONTACT_ROW])
    user.send_document("pelanggan.xlsx", content)

    preview = "\n".join(user.texts()[-2:])
    assert texts["one_problem"] in preview
    assert texts["row_5"] in preview
    assert texts["save_all"] not in user.options()
    annotated = [name for name in user.documents() if name.startswith("checked-")]
    assert len(annotated) == 1
    assert user.documents()[annotated[0]].startswith(b"PK")
    user.choose(texts["save_valid"])
    reply = user.last_text()
    assert texts["customers_saved"] in reply
    assert texts["rows_skipped"] in reply
    names = _customer_names(world.merchant_id)
    assert "Citra Dewi" in names
    assert "Eka Putri" not in names


def test_school_admin_saves_students(world: World, chat, language: str) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS[language]
    user = _start(chat, SCHOOL_ADMIN, language)

    user.send_document("siswa.xlsx", _workbook(STUDENT_HEADER, STUDENT_ROWS))

    preview = "\n".join(user.texts()[-2:])
    assert texts["students_checked"] in preview
    assert texts["parents"] in preview
    assert texts["shared"] in preview
    assert "• Hendra Wijaya: Gita, Indra" in preview
    user.choose(texts["save_all"])
    # The reply is followed by the menu, which WhatsApp may split into several lists.
    assert texts["students_saved"] in "\n".join(user.texts())
    with session_scope() as session:
        query = (
            select(Student.nis, Customer.name)
            .join(StudentGuardian, col(StudentGuardian.student_id) == Student.id)
            .join(Customer, col(Customer.id) == StudentGuardian.customer_id)
            .where(Student.organisation_id == world.school_id)
        )
        links = set(session.exec(query).all())
    assert ("2001", "Hendra Wijaya") in links
    assert ("2002", "Hendra Wijaya") in links
    assert ("2003", "Dewi Lestari") in links
    assert ("1001", "Dewi Lestari") in links
    assert len(_customer_names(world.school_id) & {"Hendra Wijaya"}) == 1


def test_finance_student_sheet_rejected(more_staff: World, chat, language: str) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS[language]
    user = _start(chat, SCHOOL_FINANCE, language)

    user.send_document("siswa.xlsx", _workbook(STUDENT_HEADER, STUDENT_ROWS))

    reply = "\n".join(user.texts()[-2:])
    assert texts["rejected"] in reply
    assert texts["rejected_role"] in reply
    with session_scope() as session:
        assert session.exec(select(ImportBatch)).all() == []
        nis = set(session.exec(select(Student.nis)).all())
    assert "2001" not in nis
    assert "Hendra Wijaya" not in _customer_names(more_staff.school_id)


def test_student_template_offered(world: World, chat, language: str) -> None:  # type: ignore[no-untyped-def]
    texts = TEXTS[language]
    user = _start(chat, SCHOOL_ADMIN, language)
    user.say("menu")

    user.choose(texts["template"])
    user.choose(texts["student_template"])

    documents = user.documents()
    assert list(documents) == ["template-students-sd-harapan.xlsx"]
    assert documents["template-students-sd-harapan.xlsx"].startswith(b"PK")


def test_student_sheet_cancelled_by_word(world: World, chat, language: str) -> None:  # type: ignore[no-untyped-def]
    user = _start(chat, SCHOOL_ADMIN, language)
    user.send_document("siswa.xlsx", _workbook(STUDENT_HEADER, STUDENT_ROWS))

    user.say({"id": "Batal.", "en": " cancel "}[language])

    cancelled = {
        "id": "Dibatalkan. Tidak ada yang disimpan.",
        "en": "Cancelled. Nothing was saved.",
    }
    # WhatsApp splits the school admin's long menu into several messages after this one.
    assert cancelled[language] in "\n".join(user.texts()[-3:])
    with session_scope() as session:
        statuses = [batch.status for batch in session.exec(select(ImportBatch)).all()]
    assert statuses == [BatchStatus.CANCELLED]
    assert "Hendra Wijaya" not in _customer_names(world.school_id)
