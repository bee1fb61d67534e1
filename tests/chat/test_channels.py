"""What each channel adds: signatures, duplicates, strangers, roles, limits and flood control."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import select

from bot.core.callbacks import CallbackData, Op
from models import (
    ChatIdentity,
    Invoice,
    InvoiceStatus,
    LinkCode,
    Notice,
    NoticeKind,
    NoticeStatus,
)
from models.db import session_scope
from tagih.logs import configure_logging
from tagih.settings import SettingsError, get_settings
from tests.chat.conftest import (
    ALICE,
    BOT_TOKEN,
    BUDI,
    FINANCE,
    PARENT,
    RINA_EMAIL,
    STRANGER,
    TEACHER,
    WA_TOKEN,
    TelegramUser,
    WhatsAppUser,
    World,
    seed_world,
    serve_app,
    telegram_env,
    whatsapp_env,
)
from webhooks.app import create_app

STRANGER_ID = (
    "Chat ini belum terdaftar di sekolah atau merchant mana pun di Tagih. Silakan minta "
    "sekolah atau merchant Anda mendaftarkan nomor HP atau e-mail Anda."
)


def _reply_count(user: TelegramUser | WhatsAppUser) -> int:
    return len(user.texts()) + len(user.documents())


def _add_open_bills(count: int) -> None:
    from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
    from billing.orgs import get_organisation

    with session_scope(write=True) as session:
        organisation = get_organisation(session, "toko-maju")
        drafts = [
            InvoiceDraft(
                number=f"LONG-{index:03}",
                customer_name="Budi Santoso",
                due_date=__import__("datetime").date(2031, 2, 1),
                lines=[LineDraft("Langganan bulanan paket kantor lengkap", 1, 10_000, 10_000)],
                phone=BUDI,
            )
            for index in range(count)
        ]
        issue_invoices(session, organisation, drafts)


# --- Both channels ---------------------------------------------------------------------


def test_duplicate_delivery_handled_once(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)
    if chat.channel == "telegram":
        update = user.update(text="berapa tagihan saya?")
    else:
        update = user.message_update({"type": "text", "text": {"body": "berapa tagihan saya?"}})
    before = _reply_count(user)

    assert user.post(update) == 200
    after_first = _reply_count(user)
    assert user.post(update) == 200

    assert after_first == before + 1
    assert _reply_count(user) == after_first


def test_stranger_learns_nothing(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(STRANGER)

    user.say("berapa tagihan saya?")

    assert user.last_text() == STRANGER_ID
    every_text = "\n".join(user.texts())
    for secret in ("Toko Maju", "SD Harapan", "Rp", "INV-"):
        assert secret not in every_text


@pytest.mark.parametrize(
    ("phone", "payload"),
    [
        (BUDI, CallbackData(Op.MENU, "void").encode()),
        (TEACHER, CallbackData(Op.MENU, "lookup").encode()),
        (FINANCE, CallbackData(Op.MENU, "customers").encode()),
        (PARENT, CallbackData(Op.MENU, "report").encode()),
    ],
)
def test_wrong_role_denied(world: World, chat, phone: str, payload: str) -> None:  # type: ignore[no-untyped-def]
    user = chat(phone)

    user.press(payload)

    assert "cannot do this" in user.last_text() or "tidak dapat" in user.last_text()


def test_payer_cannot_void_by_forged_button(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        invoice = session.exec(select(Invoice).where(Invoice.number == "INV-001")).one()
    user = chat(BUDI)

    user.press(CallbackData(Op.VOID_CONFIRM, value=invoice.id).encode())

    with session_scope() as session:
        assert session.get(Invoice, invoice.id).status == InvoiceStatus.ISSUED  # type: ignore[union-attr]
    assert "tidak dapat" in user.last_text()


def test_forged_button_payload_shows_menu(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)

    user.press("void:INV-001")

    assert "apa yang ingin Anda lakukan?" in user.last_text()


def test_long_answer_split(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    _add_open_bills(80)
    user = chat(BUDI)
    before = len(user.texts())

    user.say("berapa tagihan saya?")

    pieces = user.texts()[before:]
    assert len(pieces) >= 3
    assert all(len(piece) <= 4096 for piece in pieces)
    joined = "\n".join(pieces)
    assert "Total tagihan: Rp1.700.000 (83 tagihan)" in joined
    for index in (0, 40, 79):
        assert f"LONG-{index:03}" in joined


# --- Telegram --------------------------------------------------------------------------


def test_telegram_forged_secret(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI, verified=False)

    assert user.post(user.update(text="halo"), secret="forged") == 403
    assert user.post(user.update(text="halo"), secret=None) == 403
    assert user.texts() == []


def test_telegram_contact_button(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI, verified=False)

    user.say("halo")
    keyboard = user.api.sent("sendMessage")[0].params["reply_markup"]["keyboard"]
    assert keyboard[0][0] == {"text": "Bagikan nomor HP saya", "request_contact": True}
    user.share_contact()
    assert "Tagihan saya" in user.buttons()


def test_telegram_contact_of_another_user(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI, verified=False)

    user.share_contact(user_id=user.user_id + 1)
    user.say("berapa tagihan saya?")

    assert "Silakan bagikan kontak Anda sendiri, bukan kontak orang lain." in user.texts()
    assert not any("Total tagihan" in text for text in user.texts())
    with session_scope() as session:
        identity = session.exec(
            select(ChatIdentity).where(ChatIdentity.external_id == str(user.user_id))
        ).one()
    assert identity.phone is None


def test_telegram_flood_control_waited_out(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(ALICE)
    user.api.flood.append(("sendMessage", 1))

    user.say("how much do I owe")

    methods = [call.method for call in user.api.calls]
    assert "sendMessage:flooded" in methods
    assert "Total owed: Rp250.000 (1 bill)" in user.last_text()


def test_telegram_error_handler(world: World, telegram, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    user = telegram(BUDI)
    user.api.broken.append("sendMessage")

    with caplog.at_level(logging.ERROR):
        user.say("berapa tagihan saya?")

    assert (
        user.last_text()
        == "Terjadi kesalahan di sisi kami. Silakan coba lagi beberapa menit lagi."
        or ("coba lagi" in user.last_text())
    )
    failures = [record for record in caplog.records if record.exc_info]
    assert len(failures) == 1
    assert "failed" in failures[0].getMessage()


ERROR_LINE_EN = "Something went wrong on our side. Please try again in a few minutes."
ERROR_LINE_ID = "Terjadi kesalahan di sistem kami. Silakan coba lagi beberapa menit lagi."


@pytest.mark.parametrize(
    ("phone", "app_language", "expected"),
    [
        (ALICE, "id", ERROR_LINE_EN),  # her customer record is in English
        (BUDI, "en", ERROR_LINE_ID),  # his customer record is in Indonesian
        (None, "en", ERROR_LINE_EN),  # not registered: the app's language, as the core does
        (None, "fr", ERROR_LINE_ID),  # an app language Tagih lacks: the default language
    ],
)
def test_telegram_error_line_language(
    world: World, telegram, phone: str | None, app_language: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    user = telegram(phone, app_language, verified=phone is not None)
    user.api.broken.append("sendMessage")

    user.say("menu")

    assert user.last_text() == expected
    assert "sendMessage:broken" in [call.method for call in user.api.calls]


def test_telegram_error_line_chosen_language(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(FINANCE, "id")
    user.say("menu")
    user.choose("Bahasa / Language")
    user.choose("English")
    user.api.broken.append("sendMessage")

    user.say("menu")

    assert user.last_text() == ERROR_LINE_EN


def test_telegram_email_link(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(None, verified=False)
    user.say("halo")
    user.choose("Saya daftar via e-mail")

    user.say(RINA_EMAIL.upper())
    sent_for_known = user.last_text()
    with session_scope() as session:
        notice = session.exec(select(Notice).where(Notice.kind == NoticeKind.LINK_CODE)).one()
        link = session.exec(select(LinkCode)).one()
    code = str(notice.payload["code"])
    assert notice.recipient_email == RINA_EMAIL
    assert notice.channels == ["email"]
    assert code not in link.code_hash

    user.say("000000" if code != "000000" else "111111")
    assert "Kode salah atau sudah kedaluwarsa" in user.last_text()
    user.say(code)
    assert "Toko Maju (pelanggan): apa yang ingin Anda lakukan?" in user.last_text()

    other = telegram(None, verified=False)
    other.press(CallbackData(Op.LINK_EMAIL).encode())
    other.say("nobody@example.com")
    assert other.last_text() == sent_for_known
    with session_scope() as session:
        assert (
            len(session.exec(select(Notice).where(Notice.kind == NoticeKind.LINK_CODE)).all()) == 1
        )


def test_telegram_link_code_attempts_limited(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    user = telegram(None, verified=False)
    user.press(CallbackData(Op.LINK_EMAIL).encode())
    user.say(RINA_EMAIL)
    with session_scope() as session:
        code = str(
            session.exec(select(Notice).where(Notice.kind == NoticeKind.LINK_CODE))
            .one()
            .payload["code"]
        )
    wrong = "000000" if code != "000000" else "111111"

    for _attempt in range(4):
        user.say(wrong)
    assert "Kode salah atau sudah kedaluwarsa" in user.last_text()
    user.say(wrong)
    assert "Terlalu banyak kode salah" in user.last_text()
    user.say(code)

    assert "Terlalu banyak kode salah" in user.last_text()


def test_telegram_limits_respected(world: World, telegram) -> None:  # type: ignore[no-untyped-def]
    _add_open_bills(80)
    user = telegram(BUDI)
    user.say("berapa tagihan saya?")
    user.say("riwayat")
    user.choose("Kwitansi INV-PAID-1")

    for call in user.api.sent("sendMessage"):
        assert len(call.params["text"]) <= 4096
    for call in user.api.sent("sendDocument"):
        assert len(call.params.get("caption", "")) <= 1024
    for call in user.api.calls:
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            assert len(row[0]["callback_data"].encode()) <= 64


def test_duplicate_across_restart(database: str, bot_api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    seed_world()
    telegram_env(monkeypatch, bot_api)
    with serve_app() as first:
        user = TelegramUser(first, bot_api, BUDI)
        user.share_contact()
        update = user.update(text="berapa tagihan saya?")
        user.post(update)
    count = len(user.texts())

    with serve_app() as second:
        user.client = second
        assert user.post(update) == 200

    assert len(user.texts()) == count


# --- WhatsApp --------------------------------------------------------------------------


def test_whatsapp_handshake(world: World, whatsapp_app) -> None:  # type: ignore[no-untyped-def]
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": "wa-verify-token",
        "hub.challenge": "1158201444",
    }

    good = whatsapp_app.get("/whatsapp", params=params)
    bad = whatsapp_app.get("/whatsapp", params={**params, "hub.verify_token": "guess"})

    assert good.status_code == 200
    assert good.text == "1158201444"
    assert bad.status_code == 403


def test_whatsapp_forged_signature(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    user = whatsapp(BUDI)
    update = user.message_update({"type": "text", "text": {"body": "berapa tagihan saya?"}})

    assert user.post(update, signature="sha256=" + "0" * 64) == 403
    assert user.post(update, signature=None) in (401, 422)

    assert user.texts() == []


def test_whatsapp_needs_app_secret(graph_api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    whatsapp_env(monkeypatch, graph_api)
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="WHATSAPP_APP_SECRET"):
        create_app(get_settings())


def test_whatsapp_rate_limit_waited_out(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    user = whatsapp(ALICE)
    user.api.rate_limited = 1

    user.say("how much do I owe")

    assert [call.method for call in user.api.calls].count("messages:limited") == 1
    assert "Total owed: Rp250.000 (1 bill)" in user.last_text()


def _check_whatsapp_limits(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        if message.get("type") == "text":
            assert len(message["text"]["body"]) <= 4096
        if message.get("type") == "document":
            assert len(message["document"].get("caption", "")) <= 1024
        if message.get("type") != "interactive":
            continue
        interactive = message["interactive"]
        assert len(interactive["body"]["text"]) <= 1024
        action = interactive["action"]
        buttons = action.get("buttons", [])
        assert len(buttons) <= 3
        for item in buttons:
            assert len(item["reply"]["title"]) <= 20
        rows = [row for section in action.get("sections", []) for row in section["rows"]]
        assert len(rows) <= 10
        for row in rows:
            assert len(row["title"]) <= 24
            assert len(row.get("description", "")) <= 72
        if "button" in action:
            assert len(action["button"]) <= 20


def test_whatsapp_limits_respected(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    _add_open_bills(80)
    staff = whatsapp(FINANCE)
    staff.say("menu")
    payer = whatsapp(BUDI)
    payer.say("berapa tagihan saya?")
    payer.say("riwayat")
    payer.say("kwitansi INV-PAID-1")
    parent = whatsapp(PARENT)
    parent.say("tagihan anak saya")

    assert len(staff.options()) > 3
    _check_whatsapp_limits(staff.api.messages())


def test_whatsapp_delivery_status_recorded(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        notice = session.exec(
            select(Notice).where(Notice.kind == NoticeKind.INVOICE_ISSUED)
        ).first()
        assert notice is not None
        notice.status = NoticeStatus.SENT
        notice.channel = "whatsapp"
        notice.provider_message_id = "wamid.OUT77"
        notice_id = notice.id
    user = whatsapp(BUDI)
    status = {
        "id": "wamid.OUT77",
        "status": "delivered",
        "timestamp": "1764825700",
        "recipient_id": user.wa_id,
        "recipient_user_id": user.bsuid,
    }

    contacts = [{"wa_id": user.wa_id, "user_id": user.bsuid}]
    assert user.post(user.envelope({"contacts": contacts, "statuses": [status]})) == 200

    with session_scope() as session:
        assert session.get(Notice, notice_id).status == NoticeStatus.DELIVERED  # type: ignore[union-attr]


def test_whatsapp_duplicate_across_processes(
    database: str, graph_api, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    seed_world()
    whatsapp_env(monkeypatch, graph_api)
    with serve_app() as first, serve_app() as second:
        user = WhatsAppUser(first, graph_api, BUDI)
        update = user.message_update({"type": "text", "text": {"body": "berapa tagihan saya?"}})
        user.post(update)
        user.client = second
        user.post(update)

    assert len(user.texts()) == 1


# --- Logs ------------------------------------------------------------------------------


def test_logs_hold_no_personal_data(world: World, chat, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    configure_logging("INFO")
    with caplog.at_level(logging.INFO):
        user = chat(BUDI)
        user.say("berapa tagihan saya?")
        user.say("kwitansi INV-PAID-1")
        stranger = chat(STRANGER)
        stranger.say("halo, saya Joko")

    logged = caplog.text
    assert "update " in logged
    for secret in (
        BUDI,
        BUDI.lstrip("+"),
        STRANGER.lstrip("+"),
        "Budi",
        "Santoso",
        "berapa tagihan",
        "Joko",
        RINA_EMAIL,
        BOT_TOKEN,
        WA_TOKEN,
        "INV-PAID-1",
    ):
        assert secret not in logged, secret


def test_whatsapp_reaction_ignored(world: World, whatsapp) -> None:  # type: ignore[no-untyped-def]
    user = whatsapp(BUDI)
    reaction = {"type": "reaction", "reaction": {"message_id": "wamid.OUT1", "emoji": "👍"}}

    assert user.post(user.message_update(reaction)) == 200

    assert user.texts() == []


def test_telegram_malformed_body(world: World, telegram_app) -> None:  # type: ignore[no-untyped-def]
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-webhook-secret"}

    not_json = telegram_app.post("/telegram", content=b"{", headers=headers)
    a_list = telegram_app.post("/telegram", json=[1, 2], headers=headers)

    assert not_json.status_code == 400
    assert a_list.status_code == 400
