"""One handled message: what handlers read (Turn) and what they return (Step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from billing.permissions import Action, require
from bot.core.identity import Membership
from bot.core.inbound import Inbound
from bot.core.states import State
from bot.replies import Reply
from models import ChatIdentity, ConversationState, Organisation


@dataclass
class Step:
    """A handler's result: the replies to send and the state the chat moves to."""

    replies: list[Reply]
    state: StrEnum = State.IDLE
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    """The context of one message: the open session, the sender and the conversation state."""

    session: Session
    inbound: Inbound
    identity: ChatIdentity
    conversation: ConversationState
    language: str
    memberships: list[Membership] = field(default_factory=list)
    membership: Membership | None = None
    organisation: Organisation | None = None

    def require(self, action: Action) -> None:
        """Raise PermissionDenied unless the chosen role may take the action."""
        if self.membership is None:
            raise LookupError("no membership chosen for this turn")
        require(self.membership.role, action)

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.conversation.data or {})

    @property
    def org(self) -> Organisation:
        if self.organisation is None:
            raise LookupError("no organisation chosen for this turn")
        return self.organisation
