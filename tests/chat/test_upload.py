"""Uploading a bill sheet in chat: the preview, its three buttons, and rejected files."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from openpyxl import Workbook
from sqlmodel import select

from models import BatchStatus, Customer, ImportBatch, Invoice, StaffUser
from models.db import session_scope
from tagih.settings import get_settings
from tests.chat.conftest import ADMIN, BUDI, MERCHANT_ADMIN, RINA_EMAIL, World

ODD_NAME = "tagihan Januari ü 2031 (final).xlsx"


BILL_HEADER = [
    "No. Invoice",
    "Nama Pelanggan",
    "Email",
    "No. HP",
    "Jatuh Tempo",
    "Produk",
    "Qty",
    "Harga Satuan",
    "Jumlah (Rp)",
]


def _bill_sheet(rows: list[tuple[str, str, str, str]]) -> bytes:
    """Build a bill sheet with one line per invoice from (number, name, e-mail, phone)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BILL_HEADER)
    for number, name, email, phone in rows:
        due = dt.date(2031, 1, 15)
        sheet.append([number, name, email, phone, due, "Kopi Arabika 1 kg", 1, 150000, 150000])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _customer_count() -> int:
    with session_scope() as session:
        return len(session.exec(select(Customer.id)).all())


def _numbers() -> set[str]:
    with session_scope() as session:
        return set(session.exec(select(Invoice.number)).all())


def test_upload_preview_then_send_all(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)

    user.send_document(ODD_NAME, (samples_dir / "01_baseline_valid.xlsx").read_bytes())

    texts = "\n".join(user.texts())
    assert "Sheet sudah dicek: 5 invoice siap, total Rp4.635.000, 5 pelanggan baru." in texts
    assert "Kirim yang valid saja" not in user.options()
    user.choose("Kirim semua")
    assert "Selesai: 5 invoice diterbitkan." in user.last_text()
    assert "INV-2031-001" in _numbers()


def test_preview_counts_only_unknown_payers(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    content = _bill_sheet(
        [
            ("INV-NEW-1", "Budi Santoso", "", "0812-9999-0000"),
            ("INV-NEW-2", "Rina Email", RINA_EMAIL, ""),
            ("INV-NEW-3", "CV Baru Jaya", "", "0812-3000-0101"),
            ("INV-NEW-4", "CV Baru Jaya", "", "0812-3000-0101"),
            # Issuing matches a payer by phone first, so this makes a second customer.
            ("INV-NEW-5", "Rina Kantor", RINA_EMAIL, "0813-5555-0101"),
        ]
    )

    before = _customer_count()
    user.send_document("baru.xlsx", content)

    preview = "\n".join(user.texts()[-2:])
    assert "Sheet sudah dicek: 5 invoice siap, total Rp750.000, 2 pelanggan baru." in preview
    user.choose("Kirim semua")
    assert _customer_count() == before + 2


def test_upload_with_errors_sends_valid_rows(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)

    user.send_document(
        "rows.xlsx", (samples_dir / "42_mixed_row_errors_with_title_offset.xlsx").read_bytes()
    )

    preview = "\n".join(user.texts())
    assert "17 invoice siap" in preview
    assert "3 masalah di 3 baris" in preview
    for row in (8, 15, 21):
        assert f"• Baris {row}" in preview
    assert "Kirim semua" not in user.options()
    annotated = [name for name in user.documents() if name.startswith("checked-")]
    assert len(annotated) == 1
    assert user.documents()[annotated[0]].startswith(b"PK")
    user.choose("Kirim yang valid saja")
    assert "Selesai: 17 invoice diterbitkan." in user.last_text()


def test_second_upload_asks_about_first(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.send_document("first.xlsx", (samples_dir / "01_baseline_valid.xlsx").read_bytes())

    user.send_document(
        "second.xlsx", (samples_dir / "02_title_rows_merged_header.xlsx").read_bytes()
    )

    assert "Pratinjau sheet Anda sebelumnya masih menunggu jawaban" in user.last_text()
    user.choose("Batalkan, pakai baru")
    assert "Sheet sudah dicek: 5 invoice siap" in "\n".join(user.texts()[-2:])
    with session_scope() as session:
        batches = session.exec(select(ImportBatch).order_by(ImportBatch.id)).all()
    assert [batch.filename for batch in batches if batch.status == BatchStatus.PREVIEW] == [
        "second.xlsx"
    ]


def test_preview_waits_across_menu(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.send_document("first.xlsx", (samples_dir / "01_baseline_valid.xlsx").read_bytes())
    user.say("menu")
    user.choose("Cek invoice")
    user.say("INV-001")

    user.send_document(
        "second.xlsx", (samples_dir / "02_title_rows_merged_header.xlsx").read_bytes()
    )

    assert "Pratinjau sheet Anda sebelumnya masih menunggu jawaban" in user.last_text()


def test_keep_first_preview(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.send_document("first.xlsx", (samples_dir / "01_baseline_valid.xlsx").read_bytes())
    user.send_document(
        "second.xlsx", (samples_dir / "42_mixed_row_errors_with_title_offset.xlsx").read_bytes()
    )

    user.choose("Simpan yang lama")

    assert "Sheet sudah dicek: 5 invoice siap" in "\n".join(user.texts()[-2:])
    user.choose("Kirim semua")
    assert "Selesai: 5 invoice diterbitkan." in user.last_text()


def test_cancel_preview(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.send_document("first.xlsx", (samples_dir / "01_baseline_valid.xlsx").read_bytes())

    user.choose("Batal")

    assert "Dibatalkan. Tidak ada yang dikirim." in user.last_text()
    assert "INV-2031-001" not in _numbers()


def test_damaged_file_explained(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)

    user.send_document("cut.xlsx", (samples_dir / "32_truncated_zip.xlsx").read_bytes())

    assert user.last_text().startswith("File ini tidak dapat dibaca: ")


def test_oversize_document_not_downloaded(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)

    user.send_document("big.xlsx", b"PK\x03\x04 small body", declared=60 * 1024 * 1024)

    assert user.last_text() == "File ini terlalu besar. Kirim file maksimal 10 MB."
    downloads = [call.method for call in user.api.calls if call.method in ("getFile", "download")]
    assert downloads == []


def test_payer_document_refused(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)

    user.send_document("foto.xlsx", b"PK\x03\x04 anything")

    assert "Hanya staf yang mengunggah tagihan yang dapat mengirim file di sini." in "\n".join(
        user.texts()
    )
    downloads = [call.method for call in user.api.calls if call.method in ("getFile", "download")]
    assert downloads == []


def test_template_download(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")

    user.choose("Unduh template")
    user.choose("Template tagihan")

    documents = user.documents()
    assert list(documents) == ["template-toko-maju.xlsx"]
    assert documents["template-toko-maju.xlsx"].startswith(b"PK")
    assert "Isi sheet ini lalu kirim kembali ke sini sebagai file." in str(
        user.api.calls[-1].params
    )


def test_document_larger_than_declared(world: World, chat, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHEET_MAX_FILE_BYTES", "2048")
    get_settings.cache_clear()
    user = chat(ADMIN)

    user.send_document("liar.xlsx", b"PK\x03\x04" + b"x" * 5000, declared=100)

    assert user.last_text().startswith("File ini terlalu besar.")
    with session_scope() as session:
        assert session.exec(select(ImportBatch)).all() == []


def test_upload_again_names_issued(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    content = (samples_dir / "01_baseline_valid.xlsx").read_bytes()
    user.send_document("first.xlsx", content)
    user.choose("Kirim semua")

    user.send_document("again.xlsx", content)

    preview = "\n".join(user.texts()[-2:])
    assert "Sudah diterbitkan, tidak diterbitkan lagi: INV-2031-001" in preview
    assert "Semua invoice di sheet ini sudah pernah diterbitkan" in preview
    assert "Kirim semua" not in user.options()


MERCHANT_HINT_ID = (
    "Untuk mendaftarkan pelanggan, pilih Unggah sheet pelanggan, lalu kirim template "
    "pelanggan yang sudah diisi (.xlsx)."
)
SCHOOL_HINT_ID = "Untuk menambah kegiatan dari sheet"


def _sheet_without_header() -> bytes:
    workbook = Workbook()
    workbook.active.append(["catatan rapat", "tanpa kolom"])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def test_merchant_unknown_file_hint(more_staff: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(MERCHANT_ADMIN)

    user.send_document("rapat.xlsx", _sheet_without_header())

    reply = user.last_text()
    assert reply.startswith("File ini tidak dapat dibaca: ")
    assert MERCHANT_HINT_ID in reply
    assert "Pilih Unduh template untuk template kosong." in reply
    assert "Unggah sheet tagihan" not in reply, "an admin cannot upload bills"
    assert SCHOOL_HINT_ID not in reply
    assert "Unggah sheet pelanggan" in user.options()


def test_merchant_image_hint(more_staff: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(MERCHANT_ADMIN)

    user.send_photo(b"\xff\xd8\xff\xe0 photo of a receipt")

    reply = user.last_text()
    assert MERCHANT_HINT_ID in reply
    assert SCHOOL_HINT_ID not in reply


def test_merchant_hint_in_english(more_staff: World, chat) -> None:  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        admin = session.exec(select(StaffUser).where(StaffUser.phone == MERCHANT_ADMIN)).one()
        admin.language = "en"
    user = chat(MERCHANT_ADMIN, "en")

    user.send_document("notes.xlsx", _sheet_without_header())

    reply = user.last_text()
    assert (
        "To register customers, choose Upload a customer sheet, then send the filled "
        "customer template (.xlsx)." in reply
    )
    assert "Choose Get a template for an empty template." in reply
