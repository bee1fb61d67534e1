"""School flows through the conversation core, as WhatsApp and Telegram messages arrive."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import icalendar
import pytest
from PIL import Image
from sqlmodel import select

from billing.school.students import children_of
from bot.core import Inbound, SharedContact, decode_callback, handle_inbound
from bot.replies import Document, Photo, Reply, Text
from models import CalendarEvent, Invoice, NewsPost, Notice, NoticeKind, StaffUser, Student
from models.db import session_scope
from tests.school.conftest import School, seed_school

SUPER_ADMIN = "+6281200000001"
FINANCE = "+6281200000002"
ADMIN = "+6281200000003"
TEACHER = "+6281200000004"
PARENT = "+6281300000001"  # Ibu Ani: Ani (7A) and Bayu (7B)
ENGLISH_PARENT = "+6281300000002"  # Mr Bayu: Bayu (7B)

_updates = itertools.count(1)
CHANNELS = ["whatsapp", "telegram"]


class Chat:
    """One person writing to the bot on one channel; keeps the last replies."""

    def __init__(self, channel: str, phone: str) -> None:
        self.channel = channel
        self.phone = phone
        self.user_id = phone.removeprefix("+")
        self.replies: list[Reply] = []

    async def start(self) -> None:
        if self.channel == "telegram":
            # Telegram does not give the number: the person shares their own contact.
            await self._send(contact=SharedContact(self.phone, self.user_id))
        await self.say("menu")

    async def _send(self, **fields: object) -> list[Reply]:
        inbound = Inbound(
            channel=self.channel,
            chat_id=self.user_id,
            update_key=str(next(_updates)),
            user_id=self.user_id,
            phone=self.phone if self.channel == "whatsapp" else None,
            **fields,  # type: ignore[arg-type]
        )
        self.replies = await handle_inbound(inbound)
        return self.replies

    async def say(self, text: str) -> list[Reply]:
        return await self._send(text=text)

    def buttons(self) -> dict[str, str]:
        found = {}
        for reply in self.replies:
            if isinstance(reply, Text):
                found.update({b.title: b.payload for b in reply.buttons})
        return found

    async def tap(self, title: str) -> list[Reply]:
        buttons = self.buttons()
        assert title in buttons, f"{title!r} not in {list(buttons)}"
        return await self._send(callback=decode_callback(buttons[title]))

    def text(self) -> str:
        parts = []
        for reply in self.replies:
            if isinstance(reply, Text):
                parts.append(reply.text)
            elif isinstance(reply, Photo | Document):
                parts.append(reply.caption)
        return "\n".join(parts)


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def school_chat(database: str) -> Iterator[School]:
    yield seed_school()


async def _chat(channel: str, phone: str) -> Chat:
    chat = Chat(channel, phone)
    await chat.start()
    return chat


async def test_menus_follow_roles(school_chat: School, channel: str) -> None:
    staff_entries = {"Siswa", "Kirim berita", "Tambah kegiatan", "Kalender sekolah"}
    expected = {
        SUPER_ADMIN: staff_entries | {"Staf", "Biaya bulanan"},
        FINANCE: {"Biaya bulanan"},
        ADMIN: staff_entries,
        TEACHER: staff_entries - {"Siswa"},
        PARENT: {"Berita sekolah", "Kalender"},
    }
    school_entries = staff_entries | {"Staf", "Biaya bulanan", "Berita sekolah", "Kalender"}
    for phone, entries in expected.items():
        chat = await _chat(channel, phone)
        assert set(chat.buttons()) & school_entries == entries, phone


async def test_super_admin_adds_teacher(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, SUPER_ADMIN)
    await chat.tap("Staf")
    await chat.tap("Tambah staf")
    await chat.say("Bu Wati")
    await chat.say("0813 1111 2222x")
    assert "Silakan coba lagi" in chat.text()  # asked again, still in the flow
    await chat.say("0813-1111-2222")
    await chat.tap("guru")
    await chat.say("7a, 7B")
    assert "Bu Wati — guru (7A, 7B), +6281311112222" in chat.text()
    with session_scope() as session:
        wati = session.exec(select(StaffUser).where(StaffUser.name == "Bu Wati")).one()
    assert wati.classes == ["7A", "7B"]


async def test_super_admin_cannot_remove_self(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, SUPER_ADMIN)
    await chat.tap("Staf")
    await chat.tap("Bu Sari")
    await chat.tap("Hapus")
    await chat.tap("Ya, hapus")
    assert "super admin terakhir" in chat.text()


async def test_teacher_posts_to_own_class(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, TEACHER)
    await chat.tap("Kirim berita")
    await chat.tap("Berita baru")
    await chat.say("Kunjungan museum")
    await chat.say("Besok bawa bekal.")
    await chat.tap("Tambah Inggris")
    await chat.say("Museum visit")
    await chat.say("Bring lunch tomorrow.")
    assert "Seluruh sekolah" not in chat.buttons()
    assert set(chat.buttons()) >= {"7A"}
    await chat.tap("7A")
    await chat.tap("Kirim ke: 7A")
    assert "Orang tua yang diberi tahu: 1" in chat.text()
    with session_scope() as session:
        notices = session.exec(select(Notice).where(Notice.kind == NoticeKind.NEWS)).all()
        post = session.exec(select(NewsPost)).one()
    assert [n.recipient_phone for n in notices] == [PARENT]
    assert post.title_en == "Museum visit"
    assert post.audience == ["7A"]


async def test_teacher_typed_class_outside_scope(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, TEACHER)
    await chat.tap("Kirim berita")
    await chat.tap("Berita baru")
    await chat.say("Libur")
    await chat.say("Besok libur.")
    await chat.tap("Pilih penerima")
    await chat.say("7B")
    await chat.tap("Kirim ke: 7B")
    assert "Guru hanya dapat" in chat.text() or "only to their own classes" in chat.text()
    with session_scope() as session:
        assert session.exec(select(NewsPost)).all() == []


async def test_parent_reads_news_in_language(school_chat: School, channel: str) -> None:
    admin = await _chat(channel, ADMIN)
    await admin.tap("Kirim berita")
    await admin.tap("Berita baru")
    await admin.say("Libur sekolah")
    await admin.say("Sekolah libur hari Jumat.")
    await admin.tap("Tambah Inggris")
    await admin.say("School holiday")
    await admin.say("School is closed on Friday.")
    await admin.tap("Kirim ke: seluruh sekolah")

    parent = await _chat(channel, ENGLISH_PARENT)
    await parent.tap("School news")
    assert "School holiday" in parent.text()
    await parent.tap("School holiday")
    assert "School is closed on Friday." in parent.text()

    # A correction is what a parent opening it later reads.
    await admin.say("menu")
    await admin.tap("Kirim berita")
    post_buttons = [title for title in admin.buttons() if title.startswith("Koreksi")]
    await admin.tap(post_buttons[0])
    await admin.say("Sekolah libur hari Kamis.")
    indonesian = await _chat(channel, PARENT)
    await indonesian.tap("Berita sekolah")
    await indonesian.tap("Libur sekolah")
    assert "Sekolah libur hari Kamis." in indonesian.text()
    assert "(dikoreksi)" in indonesian.text()

    await admin.say("menu")
    await admin.tap("Kirim berita")
    await admin.tap([t for t in admin.buttons() if t.startswith("Tarik")][0])
    await indonesian.say("menu")
    await indonesian.tap("Berita sekolah")
    assert "Belum ada berita" in indonesian.text()


async def test_event_then_parent_calendar(school_chat: School, channel: str) -> None:
    teacher = await _chat(channel, TEACHER)
    await teacher.tap("Tambah kegiatan")
    await teacher.say("Kunjungan museum")
    await teacher.say("31/02/2027")
    assert "tidak valid" in teacher.text()
    await teacher.say("17/3/2027 07:30")
    await teacher.tap("7A")
    await teacher.tap("Kirim ke: 7A")
    assert "Kunjungan museum" in teacher.text()
    with session_scope() as session:
        event = session.exec(select(CalendarEvent)).one()
    assert str(event.start_time) == "07:30:00"

    parent = await _chat(channel, PARENT)
    await parent.tap("Kalender")
    for _ in range(12):
        if "Maret 2027" in parent.text():
            break
        await parent.tap(next(t for t in parent.buttons() if t.endswith("▶")))
    photo = next(r for r in parent.replies if isinstance(r, Photo))
    assert "17 Maret 2027 07:30: Kunjungan museum (7A)" in photo.caption
    assert Image.open(io.BytesIO(photo.content)).format == "PNG"
    await parent.tap("Bayu")
    assert "Kunjungan museum" not in parent.text()
    await parent.tap("Semua anak")
    assert "Kunjungan museum" in parent.text()
    await parent.tap("Unduh .ics")
    document = next(r for r in parent.replies if isinstance(r, Document))
    events = icalendar.Calendar.from_ical(document.content).walk("VEVENT")
    assert document.filename.endswith(".ics")
    assert [str(e["SUMMARY"]) for e in events] == ["Kunjungan museum"]


def _add_spp_fee(school_chat: School) -> None:
    from billing.school.actors import OPERATOR
    from billing.school.fees import add_recurring_fee
    from models import Organisation

    with session_scope(write=True) as session:
        organisation = session.get(Organisation, school_chat.organisation_id)
        # Due on the month's last day, so the current month is never past due in this test.
        add_recurring_fee(
            session, organisation, OPERATOR, component="SPP", amount=350000, day_of_month=31
        )


async def test_finance_bills_month(school_chat: School, channel: str) -> None:
    _add_spp_fee(school_chat)
    chat = await _chat(channel, FINANCE)
    await chat.tap("Biaya bulanan")
    assert "Tagihan baru: 3" in chat.text()
    assert "Dewi" in chat.text()  # no parent registered
    bill = next(t for t in chat.buttons() if t.startswith("Tagih "))
    await chat.tap(bill)
    assert "Tagihan yang diterbitkan: 3" in chat.text()
    await chat.say("menu")
    await chat.tap("Biaya bulanan")
    assert "Sudah ditagih: 3" in chat.text()
    with session_scope() as session:
        assert len(session.exec(select(Invoice)).all()) == 3


async def test_parent_cannot_use_staff_buttons(school_chat: School, channel: str) -> None:
    staff = await _chat(channel, SUPER_ADMIN)
    await staff.tap("Staf")
    payload = staff.buttons()["Tambah staf"]
    parent = await _chat(channel, PARENT)
    await parent._send(callback=decode_callback(payload))
    assert "tidak dapat melakukan ini" in parent.text()


async def test_admin_registers_student_and_parent(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Siswa")
    assert "Siswa SMP Harapan: 4" in chat.text()
    await chat.tap("Tambah siswa")
    await chat.say("1001")
    await chat.say("Duplikat")
    await chat.say("7A")
    assert "sudah dipakai Ani" in chat.text()
    await chat.say("menu")
    await chat.tap("Siswa")
    await chat.tap("Tambah siswa")
    await chat.say("2001")
    await chat.say("Eka  Putri")
    await chat.say("7b")
    assert "Eka Putri (2001) terdaftar di kelas 7B." in chat.text()
    await chat.tap("Hubungkan orang tua")
    await chat.say("Ibu Ani")
    await chat.say("0813-0000-0001")
    assert "Ibu Ani dihubungkan dengan Eka Putri." in chat.text()
    with session_scope() as session:
        children = [c.name for c in children_of(session, school_chat.parents["Ibu Ani"])]
    assert children == ["Ani", "Bayu", "Eka Putri"]


async def test_admin_archives_student(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Siswa")
    await chat.tap("Arsipkan siswa")
    await chat.say("9999")
    assert "Silakan coba lagi" in chat.text()
    await chat.say("1003")
    await chat.tap("Ya, arsipkan")
    assert "Citra (1003) diarsipkan." in chat.text()
    with session_scope() as session:
        citra = session.get(Student, school_chat.students["1003"])
    assert not citra.active


async def test_staff_removal_cancelled_by_word(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, SUPER_ADMIN)
    await chat.tap("Staf")
    await chat.tap("Pak Budi")
    await chat.tap("Hapus")

    await chat.say("hapus saja")
    asked_again = chat.text()
    await chat.say("Batal!")

    assert asked_again.startswith("Maaf, saya tidak mengerti. Ketuk salah satu tombol")
    assert "Hapus Pak Budi dari daftar staf?" in asked_again
    assert "Dibatalkan. Tidak ada yang dihapus." in chat.text()
    with session_scope() as session:
        member = session.exec(select(StaffUser).where(StaffUser.name == "Pak Budi")).one()
    assert member.active


async def test_news_audience_cancelled_by_word(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Kirim berita")
    await chat.tap("Berita baru")
    await chat.say("Libur")
    await chat.say("Besok libur.")
    await chat.tap("Pilih penerima")

    await chat.say("ya")
    asked_again = chat.text()
    await chat.say("7A")
    typed_class = chat.text()
    await chat.say("tidak")

    assert asked_again.startswith("Untuk melanjutkan, ketuk tombolnya.")
    assert "Dipilih: seluruh sekolah." in asked_again, "a yes word is not a class name"
    assert "Dipilih: 7A." in typed_class
    assert "Dibatalkan. Berita tidak dikirim." in chat.text()
    with session_scope() as session:
        assert session.exec(select(NewsPost)).all() == []


async def test_event_audience_cancelled_in_english(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Bahasa / Language")
    await chat.tap("English")
    await chat.tap("Add event")
    await chat.say("Sports day")
    await chat.say("12/08/2027")

    await chat.say(" Cancel. ")

    assert "Cancelled. The event was not saved." in chat.text()
    with session_scope() as session:
        assert session.exec(select(CalendarEvent)).all() == []


async def test_student_archive_cancelled_by_word(school_chat: School, channel: str) -> None:
    chat = await _chat(channel, ADMIN)
    await chat.tap("Siswa")
    await chat.tap("Arsipkan siswa")
    await chat.say("1003")

    await chat.say("no")

    assert "Dibatalkan. Tidak ada yang diarsipkan." in chat.text()
    with session_scope() as session:
        citra = session.get(Student, school_chat.students["1003"])
    assert citra.active


async def test_monthly_fees_cancelled_by_word(school_chat: School, channel: str) -> None:
    _add_spp_fee(school_chat)
    chat = await _chat(channel, FINANCE)
    await chat.tap("Biaya bulanan")

    await chat.say("tagih")
    asked_again = chat.text()
    await chat.say("ya")
    confirm_asked = chat.text()
    await chat.say("batal")

    assert asked_again.startswith("Maaf, saya tidak mengerti.")
    assert "Tagihan baru: 3" in asked_again
    assert confirm_asked.startswith("Untuk melanjutkan, ketuk tombolnya.")
    assert "Dibatalkan. Tidak ada tagihan yang diterbitkan." in chat.text()
    with session_scope() as session:
        assert session.exec(select(Invoice)).all() == []
