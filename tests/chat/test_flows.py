"""Every chat flow on Telegram and on WhatsApp, in Indonesian and English."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Customer, Invoice, InvoiceStatus, Notice, NoticeKind, VAStatus, VirtualAccount
from models.db import session_scope
from tests.chat.conftest import ADMIN, ALICE, BUDI, FINANCE, MULTI, PARENT, World


@pytest.mark.parametrize(
    ("phone", "question", "expected"),
    [
        (BUDI, "berapa tagihan saya?", "Total tagihan: Rp900.000 (3 tagihan)"),
        (ALICE, "how much do I owe", "Total owed: Rp250.000 (1 bill)"),
    ],
)
def test_my_bills_by_question(
    world: World, chat, phone: str, question: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    user = chat(phone)

    user.say(question)

    answer = user.last_text()
    assert expected in answer


def test_my_bills_lists_each_bill(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)
    user.say("menu")

    user.choose("Tagihan saya")

    answer = user.last_text()
    for number in ("INV-001", "INV-002", "INV-003"):
        assert number in answer
    assert "INV-PAID-1" not in answer
    assert "Rp300.000, jatuh tempo 15 Januari 2031" in answer
    assert "VA 8808 0000 0000 0002" in answer
    assert "Kopi Arabika 1 kg" in answer


def test_parent_bills_per_child(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(PARENT)

    user.say("tagihan anak saya")
    answer = user.last_text()
    assert "Total tagihan: Rp1.250.000 (3 tagihan)" in answer
    assert "Andi: Rp500.000" in answer
    assert "Sari: Rp750.000" in answer

    user.choose("Sari")
    only_sari = user.last_text()
    assert "Rp750.000 (2 tagihan)" in only_sari
    assert "SPP-A-11" not in only_sari


@pytest.mark.parametrize(
    ("phone", "words", "expected"),
    [
        (BUDI, "cara bayar", "Aplikasi mobile banking"),
        (ALICE, "how do I pay", "Internet banking"),
    ],
)
def test_how_to_pay(world: World, chat, phone: str, words: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    user = chat(phone)

    user.say(words)

    assert expected in user.last_text()
    assert "BI-FAST" in user.last_text()


def test_history_and_receipt(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)

    user.say("riwayat")
    assert "INV-PAID-1: Rp99.000 dibayar pada 1 Desember 2030 10:00 WIB" in user.last_text()
    user.choose("Kwitansi INV-PAID-1")

    documents = user.documents()
    assert list(documents) == ["kwitansi-INV-PAID-1.pdf"]
    assert documents["kwitansi-INV-PAID-1.pdf"].startswith(b"%PDF")


@pytest.mark.parametrize(
    ("phone", "words"), [(BUDI, "kwitansi INV-PAID-1"), (ALICE, "receipt INV-A1")]
)
def test_receipt_by_question(world: World, chat, phone: str, words: str) -> None:  # type: ignore[no-untyped-def]
    user = chat(phone)

    user.say(words)

    if phone == BUDI:
        assert "kwitansi-INV-PAID-1.pdf" in user.documents()
    else:
        assert user.documents() == {}
        assert "Invoice INV-A1 is not paid yet, so it has no receipt." in user.last_text()


def test_receipt_of_someone_else_refused(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ALICE)

    user.say("receipt INV-PAID-1")

    assert user.documents() == {}
    assert "No paid invoice of yours has that number." in user.last_text()


def _paused(phone: str) -> bool:
    with session_scope() as session:
        customer = session.exec(select(Customer).where(Customer.phone == phone)).first()
        assert customer is not None
        return customer.reminders_paused


@pytest.mark.parametrize(
    ("phone", "stop", "start"), [(BUDI, "berhenti", "mulai"), (ALICE, "stop", "start reminders")]
)
def test_stop_and_resume_reminders(world: World, chat, phone: str, stop: str, start: str) -> None:  # type: ignore[no-untyped-def]
    user = chat(phone)

    user.say(stop)
    assert _paused(phone) is True
    user.say(start)

    assert _paused(phone) is False


def test_reminder_buttons(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ALICE)
    user.say("menu")
    user.choose("Reminders")

    user.choose("Pause reminders")

    assert _paused(ALICE) is True
    assert "Reminders paused." in user.last_text()


def test_language_switch(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)
    user.say("menu")
    user.choose("Bahasa / Language")

    user.choose("English")

    assert "Language set to English." in user.last_text()
    user.say("how much do I owe")
    assert "Total owed: Rp900.000 (3 bills)" in user.last_text()


def test_several_organisations_pick_one(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(MULTI)

    user.say("halo")
    assert "Anda terdaftar di beberapa organisasi" in user.last_text()
    user.choose("Toko Maju (pelanggan)")
    assert "Toko Maju (pelanggan)" in user.last_text()
    user.say("berapa tagihan saya?")
    assert "INV-M1" in user.last_text()

    user.say("menu")
    user.choose("Ganti organisasi")
    user.choose("SD Harapan (orang tua)")
    user.say("how much do I owe")
    assert "You have no open bills." in user.last_text()  # the school writes in English


# --- Staff -----------------------------------------------------------------------------


def test_staff_looks_up_invoice(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    assert "Unggah sheet tagihan" in user.options()

    user.choose("Cek invoice")
    user.say("inv-paid-1")

    answer = user.last_text()
    assert "INV-PAID-1 — Budi Santoso" in answer
    assert "Status: lunas" in answer
    assert "VA: 8808 0000 0000 0004 (lunas)" in answer
    assert (
        "Pembayaran: Rp99.000 pada 1 Desember 2030 10:00 WIB, referensi bank REF123456" in answer
    )
    assert "Pengiriman: belum ada pemberitahuan terkirim" in answer


def test_lookup_unknown_invoice(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(FINANCE)
    user.say("menu")
    user.choose("Cek invoice")

    user.say("INV-999")

    assert "Invoice INV-999 tidak ditemukan" in user.last_text()


def test_void_invoice_with_confirmation(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(FINANCE)
    user.say("menu")
    user.choose("Bahasa / Language")
    user.choose("English")
    user.choose("Void an invoice")
    user.say("INV-002")
    assert "Void invoice INV-002 for Budi Santoso, Rp300.000?" in user.last_text()

    user.choose("Yes, void it")

    assert "Invoice INV-002 is void." in user.last_text()
    with session_scope() as session:
        invoice = session.exec(select(Invoice).where(Invoice.number == "INV-002")).one()
        account = session.exec(
            select(VirtualAccount).where(VirtualAccount.invoice_id == invoice.id)
        ).one()
        notices = session.exec(
            select(Notice).where(
                Notice.invoice_id == invoice.id, Notice.kind == NoticeKind.INVOICE_VOIDED
            )
        ).all()
    assert invoice.status == InvoiceStatus.VOID
    assert account.status == VAStatus.CLOSED
    assert len(notices) == 1


def test_void_paid_invoice_refused(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Batalkan invoice")

    user.say("INV-PAID-1")

    assert "Invoice INV-PAID-1 berstatus lunas dan tidak dapat dibatalkan." in user.last_text()


def test_void_aborted(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Batalkan invoice")
    user.say("INV-001")

    user.choose("Tidak, simpan")

    assert "Tidak ada yang dibatalkan." in user.last_text()
    with session_scope() as session:
        invoice = session.exec(select(Invoice).where(Invoice.number == "INV-001")).one()
    assert invoice.status == InvoiceStatus.ISSUED


def test_products_list_and_add(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Produk")
    assert "Produk (0):" in user.last_text()

    user.choose("Tambah produk")
    user.say("Teh Hijau 500 g")
    user.say("Rp 45.000")

    assert "Produk Teh Hijau 500 g ditambahkan dengan harga Rp45.000." in user.last_text()
    user.choose("Produk")
    assert "• Teh Hijau 500 g — Rp45.000" in user.last_text()


def test_customers_list_and_add(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Pelanggan")
    assert "Budi Santoso — +6281299990000" in user.last_text()

    user.choose("Tambah pelanggan")
    user.say("Citra Dewi")
    user.say("bukan nomor")
    assert "bukan nomor HP maupun alamat e-mail" in user.last_text()
    user.say("0813-5555-0101")

    assert "Pelanggan Citra Dewi ditambahkan." in user.last_text()
    with session_scope() as session:
        added = session.exec(select(Customer).where(Customer.name == "Citra Dewi")).one()
    assert added.phone == "+6281355550101"


def test_report_for_this_month(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(FINANCE)
    user.say("menu")
    user.choose("Unduh laporan")

    user.choose("Bulan ini")

    names = list(user.documents())
    assert len(names) == 1
    assert names[0].startswith("invoices-") and names[0].endswith(".xlsx")
    assert user.documents()[names[0]].startswith(b"PK")


def test_report_for_typed_range(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Unduh laporan")
    user.say("31/02/2026 - 01/03/2026")
    assert "Tanggal itu tidak terbaca" in user.last_text()

    user.say("01/11/2026 - 30/11/2026")

    assert list(user.documents()) == ["invoices-2026-11-01-2026-11-30.xlsx"]


def test_va_status_translated(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Cek invoice")

    user.say("INV-001")

    assert "VA: 8808 0000 0000 0001 (aktif)" in user.last_text()


@pytest.mark.parametrize(
    ("phone", "words", "expected"),
    [
        (ALICE, "how much do I owe", "Total owed: Rp250.000 (1 bill)"),
        (BUDI, "berapa tagihan saya?", "Total tagihan: Rp900.000 (3 tagihan)"),
    ],
)
def test_total_owed_plural(world: World, chat, phone: str, words: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    user = chat(phone)

    user.say(words)

    assert expected in user.last_text()


def _child_paid_by_other_parent() -> None:
    """Add Rudi, a child of Dewi (PARENT) and Maya (MULTI), whose fee is billed to Maya."""
    from billing.invoices import issue_invoices
    from billing.orgs import get_organisation
    from models import Student, StudentGuardian
    from tests.chat.conftest import _draft

    with session_scope(write=True) as session:
        school = get_organisation(session, "sd-harapan")
        dewi = session.exec(select(Customer).where(Customer.phone == PARENT)).one()
        maya = session.exec(
            select(Customer).where(Customer.phone == MULTI, Customer.organisation_id == school.id)
        ).one()
        rudi = Student(organisation_id=school.id, nis="1003", name="Rudi", class_name="1C")
        session.add(rudi)
        session.flush()
        session.add(StudentGuardian(student_id=rudi.id, customer_id=dewi.id))
        session.add(StudentGuardian(student_id=rudi.id, customer_id=maya.id))
        draft = _draft(
            "SPP-R-11",
            "Maya Multi",
            MULTI,
            200_000,
            description="SPP November",
            customer_id=maya.id,
            student_id=rudi.id,
        )
        issue_invoices(session, school, [draft])


def test_parent_sees_other_payer_bills(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    _child_paid_by_other_parent()
    user = chat(PARENT)

    user.say("tagihan anak saya")
    answer = user.last_text()
    user.choose("Rudi")
    only_rudi = user.last_text()

    assert "Total tagihan: Rp1.450.000 (4 tagihan)" in answer
    assert "Andi: Rp500.000" in answer
    assert "Rudi: Rp200.000" in answer
    assert "Sari: Rp750.000" in answer
    assert "SPP-R-11" in answer
    assert answer.index("Andi:") < answer.index("Rudi:") < answer.index("Sari:")
    assert "Total tagihan: Rp200.000 (1 tagihan)" in only_rudi
    assert "SPP-A-11" not in only_rudi
    assert "Semua anak" in user.options()
