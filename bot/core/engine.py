"""The conversation core: one message in, a list of replies out, the same on every channel.

Steps per message: record the update key (a duplicate stops here), find the chat identity
and its verified phone or e-mail, find the person's memberships, pick the organisation, route
to a handler, save the next state. Documents are screened by size and role before download.
"""

from __future__ import annotations

import importlib
import logging
import time

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from billing.errors import UserError
from billing.phones import normalise_phone
from bot.core import questions, registry
from bot.core.callbacks import Op
from bot.core.identity import (
    LinkCodeRequest,
    Membership,
    check_link_code,
    find_memberships,
    get_or_create_identity,
    issue_link_code,
    link_failures_exhausted,
)
from bot.core.inbound import DocumentNotFound, DocumentTooLarge, Inbound
from bot.core.menu import button, choose_organisation_step, menu_step
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.replies import Reply, Text
from locales import N_, normalise_language, tr
from models import ChatIdentity, ConversationState, Organisation, ProcessedUpdate
from models.db import session_scope
from models.types import utcnow
from tagih.logs import short_hash
from tagih.settings import get_settings

log = logging.getLogger(__name__)

ERROR_LINE = N_("Something went wrong on our side. Please try again in a few minutes.")
STRANGER_LINE = N_(
    "This chat is not registered with any school or merchant on Tagih. "
    "Please ask your school or merchant to register your phone number or e-mail."
)
# States in which the core itself takes typed text: an e-mail address, then its code.
LINK_STATES = frozenset({State.AWAIT_EMAIL, State.AWAIT_LINK_CODE})
MENU_WORDS = {"menu", "/menu", "/start", "start", "hi", "hai", "halo", "hello", "batal", "cancel"}


def update_tag(inbound: Inbound) -> str:
    """Return the short hash that follows one update through the logs."""
    return short_hash(f"{inbound.channel}:{inbound.update_key}")


async def handle_inbound(inbound: Inbound) -> list[Reply]:
    """Handle one message and return the replies. Any Exception becomes an error line."""
    tag = update_tag(inbound)
    started = time.perf_counter()
    importlib.import_module("bot.flows")  # registers every flow's handlers, once
    try:
        replies = await _handle(inbound, tag)
    except Exception as error:  # the one place that turns any failure into a friendly line
        replies = error_replies(error, tag, inbound.language)
    log.info(
        "update %s on %s: %d replies in %.1f ms",
        tag,
        inbound.channel,
        len(replies),
        (time.perf_counter() - started) * 1000,
    )
    return replies


def error_replies(error: BaseException, tag: str, language: str | None) -> list[Reply]:
    """Log the traceback under the update's tag and return the short line sent to the person."""
    log.error("update %s failed: %s", tag, type(error).__name__, exc_info=error)
    return [Text(tr(language, ERROR_LINE))]


def chat_language(*, channel: str, chat_id: str, hint: str | None) -> str:
    """Return the language the core replies in to a chat, for replies outside a turn.

    It picks as a turn does: the language the person chose, else the one of their record or
    organisation, else `hint` (the app's language), else the default. It writes nothing, and
    it falls back to `hint` when the database fails, because it serves error replies.
    """
    try:
        with session_scope() as session:
            return _stored_language(session, channel=channel, chat_id=chat_id, hint=hint)
    except SQLAlchemyError as error:
        chat = short_hash(f"{channel}:{chat_id}")
        log.warning("chat %s: language lookup failed: %s", chat, type(error).__name__)
        return normalise_language(hint)


def expects_text(*, channel: str, chat_id: str) -> bool:
    """Return whether the chat's current step takes typed text, such as a code or a name.

    Channels that map typed numbers to buttons ask this first, so that a code like 000001
    or a count like 2 is never read as a press.
    """
    importlib.import_module("bot.flows")  # registers every flow's handlers, once
    with session_scope() as session:
        identity = session.exec(
            select(ChatIdentity).where(
                ChatIdentity.channel == channel, ChatIdentity.external_id == chat_id
            )
        ).first()
        if identity is None:
            return False
        query = select(ConversationState.state).where(
            ConversationState.chat_identity_id == identity.id
        )
        state = session.exec(query).first()
    if state is None:
        return False
    return state in LINK_STATES or registry.takes_text(state)


def _stored_language(session: Session, *, channel: str, chat_id: str, hint: str | None) -> str:
    identity = session.exec(
        select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == chat_id
        )
    ).first()
    if identity is None:
        return normalise_language(hint)
    if identity.language:
        return normalise_language(identity.language)
    query = select(ConversationState).where(ConversationState.chat_identity_id == identity.id)
    # A chat without a stored conversation yet is read as a new one, which is never saved.
    conversation = session.exec(query).first() or ConversationState(
        chat_identity_id=identity.id or 0
    )
    memberships = find_memberships(session, phone=identity.phone, email=identity.email)
    stored = _stored_membership(memberships, conversation)
    if stored is None:
        return normalise_language(hint)
    organisation = session.get(Organisation, stored.organisation_id)
    return _membership_language(stored, organisation, hint)


async def _handle(inbound: Inbound, tag: str) -> list[Reply]:
    recorded = False
    if inbound.document is not None:
        with session_scope(write=True) as session:
            screened, language = _screen_document(session, inbound, tag)
        if screened is not None:
            return screened
        recorded = True
        try:
            await inbound.document.fetch(get_settings().sheet_max_file_bytes)
        except DocumentTooLarge:
            log.info("update %s: document went past the size limit while downloading", tag)
            return [_too_large(language)]
        except DocumentNotFound as error:
            log.info("update %s: document to download not found", tag)
            text = tr(
                language,
                "File {name} not found. Check the name and send the file again.",
                name=error.args[0] if error.args else inbound.document.filename,
            )
            return [Text(text)]
    with session_scope(write=True) as session:
        opened = _open_turn(session, inbound, tag, record=not recorded)
        if not isinstance(opened, Turn):
            return opened
        step = await _dispatch(opened)
        _save(opened, step)
        return step.replies


def _screen_document(
    session: Session, inbound: Inbound, tag: str
) -> tuple[list[Reply] | None, str | None]:
    """Return the replies that reject a document before download (None to download it).

    The second value is the sender's language, for a rejection after the download started.
    """
    opened = _open_turn(session, inbound, tag, record=True)
    if not isinstance(opened, Turn):
        return opened, None
    turn = opened
    assert turn.membership is not None and inbound.document is not None
    kind, role = turn.membership.organisation_kind, turn.membership.role
    if registry.document_handler(kind, role, turn.conversation.state) is None:
        step = menu_step(
            turn, tr(turn.language, "Only staff who upload bills can send files here.")
        )
        _save(turn, step)
        return step.replies, turn.language
    declared = inbound.document.size
    if declared is not None and declared > get_settings().sheet_max_file_bytes:
        log.info("update %s: document of %d bytes rejected before download", tag, declared)
        return [_too_large(turn.language)], turn.language
    return None, turn.language


def _too_large(language: str | None) -> Text:
    limit = get_settings().sheet_max_file_bytes
    return Text(
        tr(
            language,
            "This file is too large. Send a file of at most {size} MB.",
            size=limit // 2**20,
        )
    )


def _record_update(session: Session, inbound: Inbound) -> bool:
    """Store the update key; return False when another delivery of it was handled already."""
    try:
        with session.begin_nested():
            session.add(ProcessedUpdate(channel=inbound.channel, update_key=inbound.update_key))
    except IntegrityError:
        return False
    return True


def _open_turn(
    session: Session, inbound: Inbound, tag: str, *, record: bool
) -> Turn | list[Reply]:
    """Find the sender and the organisation, or return replies when either is still unknown."""
    if record and not _record_update(session, inbound):
        log.info("update %s is a duplicate delivery; skipped", tag)
        return []
    identity = get_or_create_identity(
        session, channel=inbound.channel, external_id=inbound.chat_id
    )
    identity.last_inbound_at = utcnow()
    if inbound.language_choice:
        identity.language = normalise_language(inbound.language_choice)
    conversation = _conversation(session, identity)
    language = normalise_language(identity.language or inbound.language_hint)
    inbound.reply_language = language
    turn = Turn(session, inbound, identity, conversation, language)

    unverified = _verify(turn)
    if unverified is not None:
        return _finish(turn, unverified)
    turn.memberships = find_memberships(session, phone=identity.phone, email=identity.email)
    if not turn.memberships:
        log.info("update %s: sender %s is not registered", tag, short_hash(identity.external_id))
        return _finish(turn, _stranger_step(turn))
    choice = _choose(turn)
    if choice is not None:
        return _finish(turn, choice)
    return turn


def _conversation(session: Session, identity: ChatIdentity) -> ConversationState:
    query = select(ConversationState).where(ConversationState.chat_identity_id == identity.id)
    conversation = session.exec(query).first()
    if conversation is None:
        conversation = ConversationState(chat_identity_id=identity.id or 0)
        session.add(conversation)
    return conversation


def _verify(turn: Turn) -> Step | None:
    """Take a phone the platform vouches for, a shared contact or an e-mail code.

    Returns the step to reply with while the person is not yet verified, else None.
    """
    inbound, identity = turn.inbound, turn.identity
    if inbound.phone:
        identity.phone = normalise_phone(inbound.phone) or identity.phone
    if inbound.contact is not None:
        return _accept_contact(turn)
    linking = _email_link_step(turn)
    if linking is not None:
        return linking
    if identity.phone or identity.email:
        return None
    return _ask_contact_step(turn)


def _accept_contact(turn: Turn) -> Step | None:
    contact = turn.inbound.contact
    assert contact is not None
    if contact.user_id is None or contact.user_id != turn.inbound.user_id:
        log.info("update %s: shared contact is not the sender's own", update_tag(turn.inbound))
        step = _ask_contact_step(turn)
        step.replies.insert(
            0, Text(tr(turn.language, "Please share your own contact, not someone else's."))
        )
        return step
    phone = normalise_phone(contact.phone)
    if phone is None:
        return _ask_contact_step(turn)
    turn.identity.phone = phone
    _start_over(turn)
    return None


def _ask_contact_step(turn: Turn) -> Step:
    text = tr(
        turn.language,
        "Welcome to Tagih. To see your bills, tap the button below to share your phone number.",
    )
    share = Text(
        text,
        request_contact=turn.inbound.channel == "telegram",
        contact_label=tr(turn.language, "Share my phone number"),
    )
    link = button(tr(turn.language, "I registered by e-mail"), Op.LINK_EMAIL)
    hint = tr(turn.language, "Registered only with an e-mail address? Link this chat with a code.")
    return Step([share, Text(hint, (link,))], State.AWAIT_CONTACT)


def _email_link_step(turn: Turn) -> Step | None:
    callback = turn.inbound.callback
    state = turn.conversation.state
    text = turn.inbound.text.strip()
    if callback is not None and callback.op is Op.LINK_EMAIL:
        return Step(
            [
                Text(
                    tr(
                        turn.language,
                        "Type the e-mail address your school or merchant registered.",
                    )
                )
            ],
            State.AWAIT_EMAIL,
        )
    if text.casefold() in MENU_WORDS:
        # "menu" leaves linking; it is neither an address nor a guess at a code.
        return None
    if state == State.AWAIT_EMAIL and text and callback is None:
        return _send_link_code(turn, text)
    if state == State.AWAIT_LINK_CODE and text and callback is None:
        return _check_code(turn, text)
    return None


def _send_link_code(turn: Turn, text: str) -> Step:
    email = text.lower()
    if "@" not in email or " " in email or len(email) > 254:
        return Step(
            [
                Text(
                    tr(
                        turn.language,
                        "That is not an e-mail address. Type it like nama@contoh.co.id.",
                    )
                )
            ],
            State.AWAIT_EMAIL,
        )
    settings = get_settings()
    outcome = issue_link_code(
        turn.session,
        turn.identity,
        email,
        max_requests=settings.chat_link_code_requests_per_hour,
    )
    log.info("update %s: link code requested: %s", update_tag(turn.inbound), outcome.value)
    if outcome is LinkCodeRequest.LIMITED:
        # Counted per chat whatever the address, so this reply reveals nothing about it.
        reply = tr(
            turn.language,
            "You have asked for too many codes. Wait an hour, then try again. "
            "A code you already received still works until it expires.",
        )
        return Step([Text(reply)], State.AWAIT_LINK_CODE)
    reply = tr(
        turn.language,
        "If this address is registered, we have e-mailed it a 6-digit code. "
        "Type the code here. It expires in 15 minutes.",
    )
    return Step([Text(reply)], State.AWAIT_LINK_CODE)


def _check_code(turn: Turn, text: str) -> Step | None:
    max_failures = get_settings().chat_link_code_failures_per_hour
    email = check_link_code(turn.session, turn.identity, text, max_failures=max_failures)
    if email is None:
        if link_failures_exhausted(turn.session, turn.identity, max_failures=max_failures):
            log.info("update %s: link code guesses used up", update_tag(turn.inbound))
            reply = tr(
                turn.language,
                "Too many wrong codes. Wait an hour, then type menu to start over.",
            )
            return Step([Text(reply)], State.AWAIT_LINK_CODE)
        reply = tr(
            turn.language,
            "That code is wrong or has expired. Type the code again, or type menu to start over.",
        )
        return Step([Text(reply)], State.AWAIT_LINK_CODE)
    turn.identity.email = email
    _start_over(turn)
    return None


def _start_over(turn: Turn) -> None:
    """After verification the message itself means nothing more: show the menu next."""
    turn.conversation.state = State.IDLE
    turn.inbound.text = ""
    turn.inbound.callback = None


def _stranger_step(turn: Turn) -> Step:
    link = button(tr(turn.language, "I registered by e-mail"), Op.LINK_EMAIL)
    return Step([Text(tr(turn.language, STRANGER_LINE), (link,))])


def _choose(turn: Turn) -> Step | None:
    """Pick the membership this message is about; ask when the person has several."""
    callback = turn.inbound.callback
    if callback is not None and callback.op is Op.CHOOSE_ORG:
        picked = _find_membership(turn.memberships, callback.value, callback.key)
        if picked is None:
            return choose_organisation_step(turn)
        _select(turn, picked)
        _start_over(turn)
        return None
    stored = _stored_membership(turn.memberships, turn.conversation)
    if stored is None:
        return choose_organisation_step(turn)
    _select(turn, stored)
    return None


def _find_membership(
    memberships: list[Membership], organisation_id: int | None, role: str | None
) -> Membership | None:
    for membership in memberships:
        if membership.organisation_id == organisation_id and membership.role == role:
            return membership
    return None


def _stored_membership(
    memberships: list[Membership], conversation: ConversationState
) -> Membership | None:
    """Return the membership the conversation last used, or the only one the person has."""
    stored = _find_membership(memberships, conversation.organisation_id, conversation.role)
    if stored is None and len(memberships) == 1:
        stored = memberships[0]
    return stored


def _membership_language(
    membership: Membership, organisation: Organisation | None, hint: str | None
) -> str:
    """Return the language of a person who chose none: their record's, else the organisation's."""
    preferred = membership.language or (organisation.language if organisation else None)
    return normalise_language(preferred or hint)


def _select(turn: Turn, membership: Membership) -> None:
    turn.membership = membership
    turn.organisation = turn.session.get(Organisation, membership.organisation_id)
    turn.conversation.organisation_id = membership.organisation_id
    turn.conversation.role = membership.role.value
    if turn.identity.language is None:
        turn.language = _membership_language(
            membership, turn.organisation, turn.inbound.language_hint
        )
        turn.inbound.reply_language = turn.language


async def _dispatch(turn: Turn) -> Step:
    try:
        if turn.inbound.document is not None and turn.inbound.callback is None:
            return await _dispatch_document(turn)
        handler = _route(turn)
        return await handler(turn)
    except UserError as error:
        log.info("update %s: user error %s", update_tag(turn.inbound), error.code)
        return Step([Text(error.render(turn.language))])


async def _dispatch_document(turn: Turn) -> Step:
    """Offer the document to each handler for the role until one takes it."""
    assert turn.membership is not None
    declined: Step | None = None
    kind, role = turn.membership.organisation_kind, turn.membership.role
    for handler in registry.document_handlers(kind, role, turn.conversation.state):
        try:
            return await handler(turn)
        except registry.DocumentDeclined as error:
            declined = declined or error.step
    return declined or menu_step(turn)


async def show_menu(turn: Turn) -> Step:
    return menu_step(turn)


async def _not_understood(turn: Turn) -> Step:
    return menu_step(
        turn, tr(turn.language, "Sorry, I did not understand that. Choose from the menu.")
    )


def _route(turn: Turn) -> registry.Handler:
    """Pick the handler for a button, text awaited by a state, or a phrase."""
    inbound = turn.inbound
    membership = turn.membership
    assert membership is not None
    if inbound.callback is not None:
        return _route_callback(turn)
    text = inbound.text.strip()
    if not text:
        return show_menu
    waiting = questions.waiting_question(turn)
    if waiting is not None:
        return _route_answer(turn, waiting, text)
    if text.casefold() in MENU_WORDS:
        return show_menu
    by_state = registry.state_handler(turn.conversation.state)
    if by_state is not None:
        return by_state
    by_phrase = registry.phrase_handler(text, membership.role)
    return by_phrase or _not_understood


def _route_answer(turn: Turn, waiting: questions.StoredQuestion, text: str) -> registry.Handler:
    """Pick the handler for text typed while a step waits for a button press."""
    if questions.is_cancel(text):
        if questions.press_cancel(turn, waiting):
            return _route_callback(turn)

        async def cancelled(turn: Turn) -> Step:
            return questions.cancelled_step(turn, waiting)

        return cancelled
    if text.casefold() in MENU_WORDS:
        return show_menu
    confirm = questions.is_confirm(text)
    by_state = registry.state_handler(turn.conversation.state)
    if by_state is not None and not confirm:
        return by_state

    async def ask_again(turn: Turn) -> Step:
        log.info("update %s: typed text at a question, asked again", update_tag(turn.inbound))
        return questions.ask_again_step(turn, waiting, confirm=confirm)

    return ask_again


def _route_callback(turn: Turn) -> registry.Handler:
    callback = turn.inbound.callback
    assert callback is not None and turn.membership is not None
    if callback.op is Op.MENU:
        entry = registry.menu_entry(callback.key)
        if entry is None or turn.membership.organisation_kind not in entry.kinds:
            return show_menu
        if entry.action is not None:
            turn.require(entry.action)
        return entry.handler
    if callback.op is Op.EXTENSION:
        return registry.extension_handler(callback.key) or show_menu
    if callback.op is Op.HOME:
        return show_menu
    return registry.op_handler(callback.op) or show_menu


def _finish(turn: Turn, step: Step) -> list[Reply]:
    _save(turn, step)
    return step.replies


def _save(turn: Turn, step: Step) -> None:
    data = dict(step.data)
    questions.store_question(step, data)
    turn.conversation.state = str(step.state)
    turn.conversation.data = data
    turn.conversation.updated_at = utcnow()
