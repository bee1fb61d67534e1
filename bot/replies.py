"""Channel-neutral replies of the conversation core, rendered by each channel adapter.

Each adapter maps these onto its platform (Telegram inline keyboards, WhatsApp interactive
lists and buttons, numbered text on the console) and applies the platform's limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    title: str
    # Typed callback data serialised by bot.core (never a colon-split string built by hand).
    payload: str


@dataclass(frozen=True)
class Text:
    text: str
    buttons: tuple[Button, ...] = ()
    # Ask the user to share their own phone number (Telegram request-contact keyboard);
    # contact_label is the title of that keyboard button.
    request_contact: bool = False
    contact_label: str = ""


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime_type: str
    caption: str = ""


@dataclass(frozen=True)
class Photo:
    content: bytes
    caption: str = ""
    filename: str = "image.png"


Reply = Text | Document | Photo


@dataclass(frozen=True)
class OutboundMessage:
    """A notice rendered for one recipient and channel by billing.notices."""

    text: str
    subject: str = ""
    html: str | None = None
    attachments: tuple[Document, ...] = ()
    # WhatsApp: an approved template opens a conversation outside the 24-hour window.
    whatsapp_template: str | None = None
    whatsapp_template_params: tuple[str, ...] = ()
    whatsapp_template_language: str = "id"  # the approved template's language code
    buttons: tuple[Button, ...] = field(default=())
