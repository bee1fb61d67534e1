"""Files sent in school chats: calendar sheets, news photos and staff sheets, by role and state."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from PIL import Image
from sqlmodel import select

from bot.core import IncomingDocument
from models import CalendarEvent, NewsPost, Notice, NoticeKind, StaffRole, StaffUser
from models.db import session_scope
from tests.school.conftest import School, seed_school
from tests.school.test_chat import ADMIN, CHANNELS, PARENT, SUPER_ADMIN, TEACHER, Chat, _chat

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEMAH_ROW: list[object] = ["Kemah", None, dt.date(2027, 8, 1), None, None, None]


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def school_chat(database: str) -> School:
    return seed_school()


def _events_sheet(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Judul", "Title", "Tanggal Mulai", "Tanggal Selesai", "Jam", "Kelas"])
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _staff_sheet(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Nama", "No HP", "Email", "Peran", "Kelas"])
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _staff_names() -> list[str]:
    with session_scope() as session:
        members = session.exec(select(StaffUser).order_by(StaffUser.id)).all()
        return [member.name for member in members]


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(output, format="PNG")
    return output.getvalue()


async def _send_file(chat: Chat, filename: str, content: bytes, mime_type: str) -> None:
    async def download(max_bytes: int) -> bytes:
        return content

    document = IncomingDocument(filename, mime_type, len(content), download)
    await chat._send(document=document)


def _events() -> list[CalendarEvent]:
    with session_scope() as session:
        return list(session.exec(select(CalendarEvent).order_by(CalendarEvent.id)).all())


async def test_admin_imports_calendar_sheet(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Tambah kegiatan")
    await chat.tap("Impor sheet kalender")
    content = _events_sheet(
        [
            ["Upacara", "Flag ceremony", dt.date(2027, 8, 17), None, "07:00", None],
            ["Study tour", None, "3/9/2027", "5/9/2027", None, "7a, 7B"],
        ]
    )
    await _send_file(chat, "kalender.xlsx", content, XLSX)

    assert "Kegiatan yang ditambahkan: 2." in chat.text()
    assert [event.title_id for event in _events()] == ["Upacara", "Study tour"]


async def test_calendar_sheet_lists_every_problem(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Tambah kegiatan")
    await chat.tap("Impor sheet kalender")
    content = _events_sheet(
        [
            ["Upacara", None, "31/02/2027", None, None, None],
            ["Rapat", None, dt.date(2027, 8, 1), None, "25:00", None],
            KEMAH_ROW,
        ]
    )
    await _send_file(chat, "kalender.xlsx", content, XLSX)

    text = chat.text()
    assert "Tidak ada yang disimpan. Baris bermasalah: 2." in text
    assert "Baris 2, tanggal mulai: Tanggal 31/02/2027 tidak valid." in text
    assert "Baris 3, jam: " in text
    assert "Kirim file yang sudah diperbaiki" in text
    assert _events() == []

    # Still waiting: the corrected sheet is taken without starting over.
    await _send_file(chat, "kalender.xlsx", _events_sheet([KEMAH_ROW]), XLSX)
    assert "Kegiatan yang ditambahkan: 1." in chat.text()


async def test_teacher_sheet_outside_own_class(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, TEACHER)
    await chat.tap("Tambah kegiatan")
    await chat.tap("Impor sheet kalender")
    content = _events_sheet(
        [
            ["Kunjungan museum", None, dt.date(2027, 8, 2), None, None, "7A"],
            ["Kemah", None, dt.date(2027, 8, 3), None, None, "7B"],
        ]
    )
    await _send_file(chat, "kalender.xlsx", content, XLSX)

    assert "Baris 3: Guru hanya dapat" in chat.text()
    assert _events() == []  # the row added before the problem row is rolled back too


async def test_teacher_posts_news_with_photo(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, TEACHER)
    await chat.tap("Kirim berita")
    await chat.tap("Berita baru")
    await chat.say("Kunjungan museum")
    await chat.say("Besok bawa bekal.")
    await chat.tap("Pilih penerima")
    await chat.tap("7A")
    await chat.tap("Tambah foto")
    await _send_file(chat, "catatan.pdf", b"%PDF-1.7", "application/pdf")
    assert "JPEG atau PNG" in chat.text()
    await _send_file(chat, "museum.png", _png(), "image/png")

    assert "Orang tua yang diberi tahu: 1" in chat.text()
    with session_scope() as session:
        post = session.exec(select(NewsPost)).one()
        notices = session.exec(select(Notice).where(Notice.kind == NoticeKind.NEWS)).all()
    assert post.photo == _png()
    assert post.audience == ["7A"]
    assert [notice.payload["has_photo"] for notice in notices] == [True]


async def test_news_photo_skipped(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Kirim berita")
    await chat.tap("Berita baru")
    await chat.say("Libur")
    await chat.say("Besok libur.")
    await chat.tap("Pilih penerima")
    await chat.tap("Tambah foto")
    await chat.say("nanti saja")
    assert "Kirim foto sebagai file" in chat.text()
    await chat.tap("Kirim tanpa foto")

    assert "Orang tua yang diberi tahu: 3" in chat.text()
    with session_scope() as session:
        assert session.exec(select(NewsPost)).one().photo is None


async def test_file_outside_waiting_state(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await _send_file(chat, "kalender.xlsx", _events_sheet([KEMAH_ROW]), XLSX)

    assert "pilih Tambah kegiatan, lalu Impor sheet kalender" in chat.text()
    assert _events() == []


async def test_parent_file_rejected(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, PARENT)
    await _send_file(chat, "foto.png", _png(), "image/png")

    assert "Hanya staf yang mengunggah tagihan" in chat.text()


WATI_ROW: list[object] = ["Bu Wati", "0813-1111-2222", None, "guru", "7a, 7B"]


async def test_super_admin_imports_staff_sheet(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, SUPER_ADMIN)
    await chat.tap("Staf")
    await chat.tap("Impor sheet staf")
    assert "Kirim sheet staf (.xlsx)" in chat.text()
    content = _staff_sheet(
        [
            WATI_ROW,
            ["Pak Dedi", None, "dedi@example.com", "keuangan", None],
            ["Pak Joko", "081200000004", None, "guru", "7A; 8A"],  # changes the existing entry
        ]
    )
    await _send_file(chat, "staf.xlsx", content, XLSX)

    assert "Staf yang ditambahkan: 2. Staf yang diubah: 1." in chat.text()
    with session_scope() as session:
        wati = session.exec(select(StaffUser).where(StaffUser.name == "Bu Wati")).one()
        dedi = session.exec(select(StaffUser).where(StaffUser.name == "Pak Dedi")).one()
        joko = session.exec(select(StaffUser).where(StaffUser.name == "Pak Joko")).one()
    assert wati.phone == "+6281311112222"
    assert wati.classes == ["7A", "7B"]
    assert dedi.email == "dedi@example.com"
    assert dedi.role == StaffRole.FINANCE
    assert joko.classes == ["7A", "8A"]


async def test_staff_sheet_bad_row_saves_nothing(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, SUPER_ADMIN)
    await chat.tap("Staf")
    await chat.tap("Impor sheet staf")
    names_before = _staff_names()
    content = _staff_sheet(
        [
            WATI_ROW,
            ["Pak Dedi", "081311113333", None, "kepala", None],
            ["Bu Tini", "081311114444", None, "guru", None],
        ]
    )
    await _send_file(chat, "staf.xlsx", content, XLSX)

    text = chat.text()
    assert "Tidak ada yang disimpan. Baris bermasalah: 2." in text
    assert "Baris 3, peran: Peran kepala tidak valid" in text
    assert "Baris 4, kelas: Guru Bu Tini perlu paling sedikit satu kelas" in text
    assert "Kirim file yang sudah diperbaiki" in text
    assert _staff_names() == names_before  # the valid first row is not saved either

    # Still waiting: the corrected sheet is taken without starting over.
    await _send_file(chat, "staf.xlsx", _staff_sheet([WATI_ROW]), XLSX)
    assert "Staf yang ditambahkan: 1. Staf yang diubah: 0." in chat.text()
    assert _staff_names() == [*names_before, "Bu Wati"]


async def test_staff_sheet_problems_in_english(database: str, channel: str) -> None:
    seed_school(language="en")
    chat = await _chat(channel, SUPER_ADMIN)
    await chat.tap("Staff")
    await chat.tap("Import staff sheet")
    content = _staff_sheet([["Bu Wati", "0813 1111 2222x", None, "teacher", "7A"]])
    await _send_file(chat, "staff.xlsx", content, XLSX)

    text = chat.text()
    assert "Nothing was saved. Rows with problems: 1." in text
    assert (
        "Row 2, phone number: The phone number 0813 1111 2222x is not a valid mobile number"
        in text
    )


async def test_teacher_staff_sheet_not_imported(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, TEACHER)
    await _send_file(chat, "staf.xlsx", _staff_sheet([WATI_ROW]), XLSX)

    text = chat.text()
    assert "pilih Tambah kegiatan, lalu Impor sheet kalender" in text
    assert "Impor sheet staf" not in text  # the hint is only for the super admin
    assert "Bu Wati" not in _staff_names()
