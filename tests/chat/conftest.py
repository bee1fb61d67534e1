"""Chat fixtures: a merchant and a school with staff and payers, and both chat webhooks
wired to fake platform APIs on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.orgs import create_organisation
from models import (
    Customer,
    InvoiceStatus,
    Payment,
    StaffRole,
    StaffUser,
    Student,
    StudentGuardian,
    VAStatus,
)
from models.db import session_scope
from models.types import utcnow
from tagih.settings import get_settings, reset_settings_cache
from tests.chat.fakes import FakeBotAPI, FakeGraphAPI, ServerThread
from webhooks.app import create_app

ADMIN = "+6281234500000"  # super admin of the merchant
FINANCE = "+6281200000001"
SCHOOL_ADMIN = "+6281200000002"
TEACHER = "+6281200000003"
BUDI = "+6281299990000"  # customer, Indonesian
RINA_EMAIL = "rina@example.co.id"  # customer registered by e-mail only
ALICE = "+6281299990001"  # customer, English
PARENT = "+6281277770000"  # school parent of two children
MULTI = "+6281266660000"  # customer of the merchant and parent at the school
STRANGER = "+6281311112222"
MERCHANT_ADMIN = "+6281200000011"  # admin (not super admin) of Toko Maju, with more_staff
SCHOOL_FINANCE = "+6281200000012"  # finance of SD Harapan, with more_staff

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BOT_TOKEN = "123456:TEST-bot-token"
WEBHOOK_SECRET = "tg-webhook-secret"
WA_TOKEN = "wa-test-token"
WA_PHONE_ID = "106540352242922"
WA_APP_SECRET = "wa-app-secret"
WA_VERIFY_TOKEN = "wa-verify-token"

_ids = itertools.count(700_000_000)


def next_id() -> int:
    return next(_ids)


@dataclass
class World:
    merchant_id: int
    school_id: int
    paid_invoice: str = "INV-PAID-1"


def _draft(
    number: str, name: str, phone: str, amount: int, *, description: str = "", **extra: Any
) -> InvoiceDraft:
    return InvoiceDraft(
        number=number,
        customer_name=name,
        due_date=dt.date(2031, 1, 15),
        lines=[LineDraft(description or "Kopi Arabika 1 kg", 1, amount, amount)],
        phone=phone,
        description=description,
        **extra,
    )


def _mark_paid(session: Any, issued: Any) -> None:
    issued.invoice.status = InvoiceStatus.PAID
    issued.invoice.paid_at = utcnow()
    issued.virtual_account.status = VAStatus.PAID
    session.add(
        Payment(
            organisation_id=issued.invoice.organisation_id,
            invoice_id=issued.invoice.id,
            virtual_account_id=issued.virtual_account.id,
            partner_id="bank",
            payment_request_id=f"req-{issued.invoice.id}",
            amount=issued.invoice.total,
            paid_at=dt.datetime(2030, 12, 1, 3, 0, tzinfo=dt.UTC),
            reference_no="REF123456",
        )
    )


def seed_world(open_bills_for_budi: int = 3) -> World:
    with session_scope(write=True) as session:
        merchant = create_organisation(
            session,
            slug="toko-maju",
            kind="invoice",
            name="Toko Maju",
            company_code="8808",
            admin_phone=ADMIN,
            admin_name="Sri Admin",
        )
        school = create_organisation(
            session,
            slug="sd-harapan",
            kind="school",
            name="SD Harapan",
            company_code="8809",
            admin_phone=SCHOOL_ADMIN,
            language="en",
        )
        session.add(
            StaffUser(
                organisation_id=merchant.id, phone=FINANCE, name="Fina", role=StaffRole.FINANCE
            )
        )
        session.add(
            StaffUser(
                organisation_id=school.id,
                phone=TEACHER,
                name="Tina",
                role=StaffRole.TEACHER,
                classes=["4A"],
            )
        )
        session.add(
            Customer(organisation_id=merchant.id, name="Alice Walker", phone=ALICE, language="en")
        )
        session.add(
            Customer(organisation_id=merchant.id, name="Budi Santoso", phone=BUDI, language="id")
        )
        session.add(Customer(organisation_id=merchant.id, name="Rina Email", email=RINA_EMAIL))
        session.flush()
        drafts = [
            _draft(f"INV-{index:03}", "Budi Santoso", BUDI, 150_000 * index)
            for index in range(1, open_bills_for_budi + 1)
        ]
        drafts.append(_draft("INV-PAID-1", "Budi Santoso", BUDI, 99_000))
        drafts.append(_draft("INV-A1", "Alice Walker", ALICE, 250_000))
        drafts.append(_draft("INV-M1", "Maya Multi", MULTI, 75_000))
        issued = issue_invoices(session, merchant, drafts)
        _mark_paid(session, issued[-3])

        parent = Customer(
            organisation_id=school.id, name="Dewi Lestari", phone=PARENT, language="id"
        )
        multi = Customer(organisation_id=school.id, name="Maya Multi", phone=MULTI)
        session.add_all([parent, multi])
        session.flush()
        children = [
            Student(organisation_id=school.id, nis="1001", name="Andi", class_name="4A"),
            Student(organisation_id=school.id, nis="1002", name="Sari", class_name="2B"),
        ]
        session.add_all(children)
        session.flush()
        for child in children:
            session.add(StudentGuardian(student_id=child.id, customer_id=parent.id))
        school_drafts = [
            _draft(
                "SPP-A-11",
                "Dewi Lestari",
                PARENT,
                500_000,
                description="SPP November",
                customer_id=parent.id,
                student_id=children[0].id,
            ),
            _draft(
                "SPP-S-11",
                "Dewi Lestari",
                PARENT,
                450_000,
                description="SPP November",
                customer_id=parent.id,
                student_id=children[1].id,
            ),
            _draft(
                "UNI-S-1",
                "Dewi Lestari",
                PARENT,
                300_000,
                description="Seragam",
                customer_id=parent.id,
                student_id=children[1].id,
            ),
        ]
        issue_invoices(session, school, school_drafts)
        return World(merchant_id=merchant.id or 0, school_id=school.id or 0)


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Forget settings read during a test, whose environment monkeypatch restores after it."""
    yield
    reset_settings_cache()


@pytest.fixture
def world(database: str) -> World:
    return seed_world()


@pytest.fixture
def sqlite_world(sqlite_database: str) -> World:
    return seed_world()


@pytest.fixture
def more_staff(world: World) -> World:
    """Add an admin to the merchant and a finance member to the school."""
    with session_scope(write=True) as session:
        session.add(
            StaffUser(
                organisation_id=world.merchant_id,
                phone=MERCHANT_ADMIN,
                name="Adi",
                role=StaffRole.ADMIN,
            )
        )
        session.add(
            StaffUser(
                organisation_id=world.school_id,
                phone=SCHOOL_FINANCE,
                name="Fani",
                role=StaffRole.FINANCE,
            )
        )
    return world


# --- Telegram --------------------------------------------------------------------------


@pytest.fixture
def bot_api() -> Iterator[FakeBotAPI]:
    fake = FakeBotAPI(BOT_TOKEN)
    with fake.server:
        yield fake


@contextmanager
def serve_app() -> Iterator[httpx.Client]:
    """Run the web app under a real uvicorn on 127.0.0.1 and return a client for it.

    The client's `app` attribute is the running FastAPI app. When Telegram is configured,
    this waits up to 10 s for the bot to be initialised in the background.
    """
    app = create_app(get_settings())
    with ServerThread(app, lifespan="on") as server:
        initialiser = getattr(app.state, "telegram_initialiser", None)
        deadline = time.monotonic() + 10
        while initialiser is not None and not initialiser.ready and time.monotonic() < deadline:
            time.sleep(0.005)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def telegram_env(monkeypatch: pytest.MonkeyPatch, bot_api: FakeBotAPI) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", bot_api.url)
    reset_settings_cache()


@pytest.fixture
def telegram_app(bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    telegram_env(monkeypatch, bot_api)
    with serve_app() as client:
        yield client
    reset_settings_cache()


class TelegramUser:
    """A person in a private Telegram chat with the bot, posting updates as Telegram does."""

    def __init__(
        self, client: httpx.Client, api: FakeBotAPI, phone: str | None, language: str = "id"
    ):
        self.client = client
        self.api = api
        self.phone = phone
        self.user_id = next_id() % 1_000_000_000
        self.language = language

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": "Budi",
            "language_code": self.language,
        }

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next_id() % 100_000,
            "from": self._user(),
            "chat": {"id": self.user_id, "first_name": "Budi", "type": "private"},
            "date": 1764825600,
            **content,
        }

    def post(self, update: dict[str, Any], *, secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        response = self.client.post("/telegram", json=update, headers=headers)
        return response.status_code

    def update(self, **content: Any) -> dict[str, Any]:
        return {"update_id": next_id(), "message": self._message(**content)}

    def say(self, text: str) -> int:
        return self.post(self.update(text=text))

    def share_contact(self, *, phone: str | None = None, user_id: int | None = None) -> int:
        contact = {
            "phone_number": (phone or self.phone or "").lstrip("+"),
            "first_name": "Budi",
            "user_id": self.user_id if user_id is None else user_id,
        }
        return self.post(self.update(contact=contact))

    def press(self, payload: str) -> int:
        message = self._message(text="menu")
        message["from"] = {"id": 777000111, "is_bot": True, "first_name": "Tagih"}
        query = {
            "id": str(next_id()),
            "from": self._user(),
            "message": message,
            "chat_instance": "-5012345678",
            "data": payload,
        }
        return self.post({"update_id": next_id(), "callback_query": query})

    def press_titled(self, title: str) -> int:
        return self.press(self.button(title))

    def send_document(
        self, name: str, content: bytes, *, declared: int | None = None, mime_type: str = XLSX
    ) -> int:
        file_id = f"BQACAgIAAxkBAAI{next_id()}"
        self.api.files[file_id] = content
        document = {
            "file_name": name,
            "mime_type": mime_type,
            "file_id": file_id,
            "file_unique_id": f"AgAD{file_id[-6:]}",
            "file_size": len(content) if declared is None else declared,
        }
        return self.post(self.update(document=document))

    def send_photo(self, content: bytes, *, caption: str | None = None) -> int:
        """Send a photo as Telegram delivers one: a thumbnail and a full size, both JPEG."""
        sizes = []
        for width, body in ((90, b"\xff\xd8\xff thumbnail"), (1280, content)):
            file_id = f"AgACAgIAAxkBAAI{next_id()}"
            self.api.files[file_id] = body
            self.api.file_paths[file_id] = f"photos/file_{file_id[-6:]}.jpg"
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{file_id[-6:]}",
                    "file_size": len(body),
                    "width": width,
                    "height": width * 3 // 4,
                }
            )
        message: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            message["caption"] = caption
        return self.post(self.update(**message))

    def buttons(self) -> dict[str, str]:
        """Titles and payloads of the inline keyboard of the latest message that had one."""
        for call in reversed(self.api.sent("sendMessage")):
            if int(call.params["chat_id"]) != self.user_id:
                continue
            markup = call.params.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if rows:
                return {row[0]["text"]: row[0]["callback_data"] for row in rows}
        return {}

    def button(self, title: str) -> str:
        buttons = self.buttons()
        assert title in buttons, f"no button {title!r} in {list(buttons)}"
        return buttons[title]

    def texts(self) -> list[str]:
        return [
            str(call.params["text"])
            for call in self.api.sent("sendMessage")
            if int(call.params["chat_id"]) == self.user_id
        ]

    def last_text(self) -> str:
        return self.texts()[-1]

    def choose(self, title: str) -> int:
        return self.press(self.button(title))

    def options(self) -> list[str]:
        return list(self.buttons())

    def documents(self) -> dict[str, bytes]:
        """Files the bot sent to this chat, by file name."""
        return {
            call.files["document"][0]: call.files["document"][1]
            for call in self.api.sent("sendDocument")
            if int(call.params["chat_id"]) == self.user_id
        }


@pytest.fixture
def telegram(telegram_app: httpx.Client, bot_api: FakeBotAPI):  # type: ignore[no-untyped-def]
    """Make a verified Telegram user for a phone (contact already shared)."""

    def make(phone: str | None, language: str = "id", *, verified: bool = True) -> TelegramUser:
        user = TelegramUser(telegram_app, bot_api, phone, language)
        if verified and phone:
            assert user.share_contact() == 200
        return user

    return make


# --- WhatsApp --------------------------------------------------------------------------


@pytest.fixture
def graph_api() -> Iterator[FakeGraphAPI]:
    fake = FakeGraphAPI(WA_TOKEN, WA_PHONE_ID)
    with fake.server:
        yield fake


def whatsapp_env(monkeypatch: pytest.MonkeyPatch, graph_api: FakeGraphAPI) -> None:
    monkeypatch.setenv("WHATSAPP_PHONE_ID", WA_PHONE_ID)
    monkeypatch.setenv("WHATSAPP_TOKEN", WA_TOKEN)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", WA_APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", WA_VERIFY_TOKEN)
    monkeypatch.setenv("WHATSAPP_API_BASE_URL", graph_api.url)
    reset_settings_cache()


@pytest.fixture
def whatsapp_app(
    graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    whatsapp_env(monkeypatch, graph_api)
    with serve_app() as client:
        yield client
    reset_settings_cache()


def sign(body: bytes, secret: str = WA_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WhatsAppUser:
    """A WhatsApp user writing to the business number, posting webhooks as Meta does."""

    def __init__(self, client: httpx.Client, api: FakeGraphAPI, phone: str):
        self.client = client
        self.api = api
        self.phone = phone
        self.wa_id = phone.lstrip("+")
        self.bsuid = f"ID.{next_id()}"

    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": WA_PHONE_ID},
            **value,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
            ],
        }

    def message_update(
        self, message: dict[str, Any], message_id: str | None = None
    ) -> dict[str, Any]:
        message = {
            "from": self.wa_id,
            "from_user_id": self.bsuid,
            "id": message_id or f"wamid.HBgNNjI4MTI{next_id()}FQIAEhgg",
            "timestamp": "1764825600",
            **message,
        }
        contacts = [{"profile": {"name": "Budi"}, "wa_id": self.wa_id, "user_id": self.bsuid}]
        return self.envelope({"contacts": contacts, "messages": [message]})

    def post(self, update: dict[str, Any], *, signature: str | None = "valid") -> int:
        """Post a webhook and wait until the bot's handlers have finished with it."""
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        webhook = self.client.app.state.whatsapp  # type: ignore[attr-defined]
        before = webhook.handled
        status = self.client.post("/whatsapp", content=body, headers=headers).status_code
        if status == 200:
            deadline = time.monotonic() + 20
            while webhook.handled == before and time.monotonic() < deadline:
                time.sleep(0.005)
        return status

    def say(self, text: str, *, message_id: str | None = None) -> int:
        return self.post(self.message_update({"type": "text", "text": {"body": text}}, message_id))

    def press(self, payload: str, title: str = "x") -> int:
        interactive = {"type": "button_reply", "button_reply": {"id": payload, "title": title}}
        context = {"from": "15550783881", "id": "wamid.CTX"}
        message = {"type": "interactive", "interactive": interactive, "context": context}
        return self.post(self.message_update(message))

    def pick(self, payload: str, title: str = "x") -> int:
        interactive = {"type": "list_reply", "list_reply": {"id": payload, "title": title}}
        context = {"from": "15550783881", "id": "wamid.CTX"}
        message = {"type": "interactive", "interactive": interactive, "context": context}
        return self.post(self.message_update(message))

    def choose(self, title: str) -> int:
        """Press the button or list row with this title in the latest interactive message."""
        options = self.options()
        assert title in options, f"no option {title!r} in {list(options)}"
        kind, payload = options[title]
        return self.press(payload, title) if kind == "button" else self.pick(payload, title)

    def send_document(
        self, name: str, content: bytes, *, declared: int | None = None, mime_type: str = XLSX
    ) -> int:
        media_id = f"{next_id()}"
        self.api.media[media_id] = (content, "application/vnd.ms-excel")
        if declared is not None:
            self.api.declared_sizes[media_id] = declared
        document = {
            "filename": name,
            "mime_type": mime_type,
            "sha256": "x" * 44,
            "id": media_id,
        }
        return self.post(self.message_update({"type": "document", "document": document}))

    def send_photo(self, content: bytes, *, caption: str | None = None) -> int:
        """Send a photo as Meta delivers one: an image message with a media id and no name."""
        media_id = f"{next_id()}"
        self.api.media[media_id] = (content, "image/jpeg")
        image = {"mime_type": "image/jpeg", "sha256": "y" * 44, "id": media_id}
        if caption is not None:
            image["caption"] = caption
        return self.post(self.message_update({"type": "image", "image": image}))

    def mine(self) -> list[dict[str, Any]]:
        return [
            message
            for message in self.api.messages()
            if message.get("to") in (self.wa_id, self.phone)
        ]

    def texts(self) -> list[str]:
        found = []
        for message in self.mine():
            if message.get("type") == "text":
                found.append(message["text"]["body"])
            elif message.get("type") == "interactive":
                found.append(message["interactive"]["body"]["text"])
        return found

    def last_text(self) -> str:
        return self.texts()[-1]

    def options(self) -> dict[str, tuple[str, str]]:
        """Titles of the buttons and list rows in this user's latest interactive messages."""
        found: dict[str, tuple[str, str]] = {}
        for message in reversed(self.mine()):
            if message.get("type") != "interactive":
                if found:
                    break
                continue
            action = message["interactive"]["action"]
            for item in action.get("buttons", []):
                found.setdefault(item["reply"]["title"], ("button", item["reply"]["id"]))
            for section in action.get("sections", []):
                for row in section["rows"]:
                    found.setdefault(row["title"], ("row", row["id"]))
        return found

    def documents(self) -> dict[str, bytes]:
        """Files the bot sent to this number, by file name, as uploaded to the Graph API."""
        uploads = {
            call.params.get("id", ""): call for call in self.api.calls if call.method == "media"
        }
        found = {}
        for message in self.mine():
            if message.get("type") != "document":
                continue
            upload = uploads.get(message["document"]["id"])
            content = upload.files["file"][1] if upload else b""
            found[message["document"]["filename"]] = content
        return found


@pytest.fixture
def whatsapp(whatsapp_app: httpx.Client, graph_api: FakeGraphAPI):  # type: ignore[no-untyped-def]
    def make(phone: str) -> WhatsAppUser:
        return WhatsAppUser(whatsapp_app, graph_api, phone)

    return make


# --- Both channels ---------------------------------------------------------------------


@pytest.fixture
def chat_app(
    bot_api: FakeBotAPI, graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    """The web app with both the Telegram and the WhatsApp webhook on."""
    telegram_env(monkeypatch, bot_api)
    whatsapp_env(monkeypatch, graph_api)
    with serve_app() as client:
        yield client
    reset_settings_cache()


@pytest.fixture(params=["telegram", "whatsapp"])
def chat(
    request: pytest.FixtureRequest,
    chat_app: httpx.Client,
    bot_api: FakeBotAPI,
    graph_api: FakeGraphAPI,
):  # type: ignore[no-untyped-def]
    """Make a verified chat user for a phone on each channel in turn."""

    def make(phone: str, language: str = "id") -> TelegramUser | WhatsAppUser:
        if request.param == "telegram":
            user = TelegramUser(chat_app, bot_api, phone, language)
            assert user.share_contact() == 200
            return user
        return WhatsAppUser(chat_app, graph_api, phone)

    make.channel = request.param  # type: ignore[attr-defined]
    return make
