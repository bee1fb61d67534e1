"""Files sent in school chats: calendar sheets and news photos, by role and state."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook
from PIL import Image
from sqlmodel import select

from bot.core import IncomingDocument
from models import CalendarEvent, NewsPost, Notice, NoticeKind
from models.db import session_scope
from tests.school.conftest import School, seed_school
from tests.school.test_chat import ADMIN, CHANNELS, PARENT, TEACHER, Chat, _chat

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
