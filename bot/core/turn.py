"""One handled message: what handlers read (Turn) and what they return (Step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from billing.permissions import Action, require
from bot.core.identity import Membership
from bot.core.inbound import Inbound
from bot.core.states import State
from bot.replies import Reply
from models import ChatIdentity, ConversationState, Organisation

# The conversation data key of the question a step waits on, set only by the core.
QUESTION_KEY = "_question"


@dataclass(frozen=True)
class Question:
    """How a step that waits for a button press takes a typed cancel word.

    `cancel` is the encoded payload of the button that the word presses. Without it, the
    word drops the step and shows the menu after `cancelled`, a message id. With neither,
    the question is asked again. `text` is the question to store when the message with the
    buttons starts with more, as when it is asked again. See bot.core.questions.
    """

    cancel: str | None = None
    cancelled: str | None = None
    text: str | None = None


@dataclass
class Step:
    """A handler's result: the replies to send, the state the chat moves to and its data.

    With `question`, the last message with buttons waits for a press (bot.core.questions).
    """

    replies: list[Reply]
    state: str = State.IDLE
    data: dict[str, Any] = field(default_factory=dict)
    question: Question | None = None


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
        """Return the data of the conversation's step, without the core's stored question."""
        data = dict(self.conversation.data or {})
        data.pop(QUESTION_KEY, None)
        return data

    @property
    def org(self) -> Organisation:
        if self.organisation is None:
            raise LookupError("no organisation chosen for this turn")
        return self.organisation
