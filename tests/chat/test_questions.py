"""Typed text at steps that wait for a button press: cancel words, yes words, other text."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.core.questions import answer_word, is_cancel, is_confirm
from models import BatchStatus, ImportBatch, Invoice, InvoiceStatus
from models.db import session_scope
from tests.chat.conftest import ADMIN, FINANCE, World

QUESTION_ID = "Apa yang harus saya lakukan dengan sheet ini?"
NOT_UNDERSTOOD_ID = "Maaf, saya tidak mengerti. Ketuk salah satu tombol, atau ketik batal."
TAP_TO_CONFIRM_ID = (
    "Untuk melanjutkan, ketuk tombolnya. Balasan yang diketik hanya dapat membatalkan."
)
MENU_HEADING_ID = "Toko Maju (super admin): apa yang ingin Anda lakukan?"


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("batal", "batal"),
        ("  Batal!  ", "batal"),
        ("CANCEL.", "cancel"),
        ("«tidak»", "tidak"),
        ("No 🙏", "no"),
        ("tidak   jadi...", "tidak jadi"),
        ("ya, kirim", "ya, kirim"),
    ],
)
def test_answer_word_cleans_edges(typed: str, word: str) -> None:
    assert answer_word(typed) == word


def test_answer_words_classified() -> None:
    for word in ("batal", "Cancel!", " tidak ", "NO", "gak jadi"):
        assert is_cancel(word), word
        assert not is_confirm(word), word
    for word in ("ya", "Yes!", "kirim", "send", "OK"):
        assert is_confirm(word), word
        assert not is_cancel(word), word
    for word in ("batalkan", "nota", "batal kirim INV-1", "no. 12"):
        assert not is_cancel(word), word


def _batch_statuses() -> list[str]:
    with session_scope() as session:
        return [batch.status for batch in session.exec(select(ImportBatch)).all()]


def _upload(user, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user.send_document("tagihan.xlsx", (samples_dir / "01_baseline_valid.xlsx").read_bytes())
    assert QUESTION_ID in user.last_text()


@pytest.mark.parametrize("word", ["batal", " Cancel! ", "TIDAK.", "no"])
def test_cancel_word_cancels_preview(world: World, chat, samples_dir: Path, word: str) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    _upload(user, samples_dir)

    user.say(word)

    reply = user.last_text()
    assert reply.startswith("Dibatalkan. Tidak ada yang dikirim.")
    assert MENU_HEADING_ID in reply
    assert _batch_statuses() == [BatchStatus.CANCELLED]
    with session_scope() as session:
        numbers = set(session.exec(select(Invoice.number)).all())
    assert "INV-2031-001" not in numbers


def test_yes_word_asks_for_button(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    _upload(user, samples_dir)

    for word in ("ya", "Kirim!", "yes"):
        user.say(word)

        reply = user.last_text()
        assert reply == f"{TAP_TO_CONFIRM_ID}\n\n{QUESTION_ID}", word
        assert set(user.options()) == {"Kirim semua", "Batal"}, word
    assert _batch_statuses() == [BatchStatus.PREVIEW]

    user.choose("Kirim semua")

    assert "Selesai: 5 invoice diterbitkan." in user.last_text()


def test_other_text_repeats_preview_question(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    _upload(user, samples_dir)

    user.say("nanti saja ya")

    reply = user.last_text()
    assert reply.startswith(NOT_UNDERSTOOD_ID)
    assert QUESTION_ID in reply
    assert set(user.options()) == {"Kirim semua", "Batal"}
    assert _batch_statuses() == [BatchStatus.PREVIEW]

    user.say("batal")

    assert _batch_statuses() == [BatchStatus.CANCELLED]


def test_menu_word_leaves_preview_waiting(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    _upload(user, samples_dir)

    user.say("menu")
    user.say("batal")

    assert user.last_text().startswith(MENU_HEADING_ID)
    assert _batch_statuses() == [BatchStatus.PREVIEW]


def test_conflict_question_asked_again(world: World, chat, samples_dir: Path) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    _upload(user, samples_dir)
    user.send_document("lagi.xlsx", (samples_dir / "01_baseline_valid.xlsx").read_bytes())

    user.say("batal")

    reply = user.last_text()
    menu_hint = (
        "Maaf, saya tidak mengerti. Ketuk salah satu tombol, atau ketik menu untuk berhenti."
    )
    assert reply.startswith(menu_hint)
    assert "Pratinjau sheet Anda sebelumnya masih menunggu jawaban." in reply
    assert _batch_statuses() == [BatchStatus.PREVIEW, BatchStatus.PREVIEW]


def _invoice_status(number: str) -> str:
    with session_scope() as session:
        return session.exec(select(Invoice).where(Invoice.number == number)).one().status


def test_cancel_word_keeps_invoice(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)
    user.say("menu")
    user.choose("Batalkan invoice")
    user.say("INV-001")

    user.say("ya")
    asked_again = user.last_text()
    user.say("Tidak!")

    assert asked_again.startswith(TAP_TO_CONFIRM_ID)
    assert "Batalkan invoice INV-001 untuk Budi Santoso" in asked_again
    assert "Tidak ada yang dibatalkan." in user.last_text()
    assert _invoice_status("INV-001") == InvoiceStatus.ISSUED


def test_void_question_in_english(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(FINANCE)
    user.say("menu")
    user.choose("Bahasa / Language")
    user.choose("English")
    user.choose("Void an invoice")
    user.say("INV-002")

    user.say("what?")
    asked_again = user.last_text()
    buttons_again = set(user.options())
    user.say("cancel")

    assert asked_again.startswith(
        "Sorry, I did not understand that. Tap a button, or type cancel."
    )
    assert "Void invoice INV-002 for Budi Santoso" in asked_again
    assert buttons_again == {"Yes, void it", "No, keep it"}
    assert "Nothing was voided." in user.last_text()
    assert _invoice_status("INV-002") == InvoiceStatus.ISSUED
