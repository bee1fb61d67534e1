"""Chat identities, stored conversation state, inbound de-duplication and link codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class ChatIdentity(SQLModel, table=True):
    """A chat account (Telegram user, WhatsApp number, console session) and who it belongs to.

    The person behind it is found by phone or e-mail in the staff, customer and parent tables.
    """

    __tablename__ = "chat_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(16))  # telegram, whatsapp, console
    external_id: str = Field(sa_type=String(64))  # chat or user id on that channel
    phone: str | None = Field(default=None, sa_type=String(20), index=True)  # E.164, verified
    email: str | None = Field(default=None, sa_type=String(254), index=True)  # verified by code
    language: str | None = Field(default=None, sa_type=String(8))
    last_inbound_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConversationState(SQLModel, table=True):
    """Where a chat is in a flow, kept in the database so any web process can continue it."""

    __tablename__ = "conversation_state"

    id: int | None = Field(default=None, primary_key=True)
    chat_identity_id: int = Field(foreign_key="chat_identity.id", unique=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    role: str | None = Field(default=None, sa_type=String(16))
    state: str = Field(default="idle", sa_type=String(48))
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProcessedUpdate(SQLModel, table=True):
    """An inbound update already handled (Telegram update_id, WhatsApp message id)."""

    __tablename__ = "processed_update"
    __table_args__ = (UniqueConstraint("channel", "update_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(16))
    update_key: str = Field(sa_type=String(128))
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LinkCode(SQLModel, table=True):
    """A one-time code e-mailed to link a chat to a person registered only by e-mail."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    chat_identity_id: int = Field(foreign_key="chat_identity.id", index=True)
    email: str = Field(sa_type=String(254))
    code_hash: str = Field(sa_type=String(128))
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    used_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
