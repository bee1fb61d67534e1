"""News in chat: staff post, correct and withdraw it, and parents read it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from billing.permissions import Action
from billing.school import news
from bot.core.menu import menu_step
from bot.core.turn import Step, Turn
from bot.flows.school.common import (
    CAPTION_MAX,
    MAX_NEWS_LISTED,
    MAX_PICK_BUTTONS,
    NEWS_QUESTION,
    Key,
    SchoolState,
    acting_parent,
    acting_staff,
    audience_step,
    child_buttons,
    child_note,
    key_button,
    menu_button,
    pressed_value,
    reply_step,
    toggle_class,
)
from bot.replies import Photo, Text
from locales import format_date, tr
from models import NewsPost


async def news_menu(turn: Turn) -> Step:
    actor = acting_staff(turn)
    posts = news.list_news(turn.session, turn.org, actor, limit=MAX_NEWS_LISTED)

    lines = [tr(turn.language, "Recent news:") if posts else tr(turn.language, "No news yet.")]
    buttons = [key_button(tr(turn.language, "New post"), Key.NEWS_NEW)]
    for post in posts:
        lines.append(_post_line(turn, post))
        if post.withdrawn_at is None and len(buttons) < MAX_PICK_BUTTONS - 2:
            buttons.append(
                key_button(
                    tr(turn.language, "Correct #{id}", id=post.id), Key.NEWS_CORRECT, post.id
                )
            )
            buttons.append(
                key_button(
                    tr(turn.language, "Withdraw #{id}", id=post.id), Key.NEWS_WITHDRAW, post.id
                )
            )
    buttons.append(menu_button(turn))
    return Step([Text("\n".join(lines), tuple(buttons))])


def _post_line(turn: Turn, post: NewsPost) -> str:
    _, title, _ = news.news_text(post, turn.language)
    audience = ", ".join(post.audience) or tr(turn.language, "whole school")
    line = f"#{post.id} {title} ({audience})"
    if post.withdrawn_at is not None:
        line += " — " + tr(turn.language, "withdrawn")
    return line


async def news_new(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)

    return reply_step(
        turn, tr(turn.language, "What is the title of the news?"), SchoolState.NEWS_TITLE
    )


async def news_title_typed(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    title = " ".join(turn.inbound.text.split())
    first = turn.conversation.state == SchoolState.NEWS_TITLE
    language = turn.language if first else _other(turn.language)

    ask = tr(turn.language, "Now write the text of the news.")
    next_state = SchoolState.NEWS_TEXT if first else SchoolState.NEWS_OTHER_TEXT
    return reply_step(turn, ask, next_state, **{**turn.data, f"title_{language}": title})


def _other(language: str) -> str:
    return "en" if language == "id" else "id"


async def news_text_typed(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    first = turn.conversation.state == SchoolState.NEWS_TEXT
    key = "text_" + (turn.language if first else _other(turn.language))
    data = {**turn.data, key: turn.inbound.text.strip()}
    news.check_content(_content(data))

    if not first:
        return audience_step(turn, data, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)
    other = (
        tr(turn.language, "Indonesian") if turn.language == "en" else tr(turn.language, "English")
    )
    text = tr(turn.language, "Add the news in {language} too?", language=other)
    buttons = (
        key_button(tr(turn.language, "Add {language}", language=other), Key.NEWS_OTHER, 1),
        key_button(tr(turn.language, "Choose audience"), Key.NEWS_OTHER, 0),
    )
    return Step([Text(text, buttons)], SchoolState.NEWS_AUDIENCE, data, NEWS_QUESTION)


def _content(data: dict[str, Any]) -> news.NewsContent:
    return news.NewsContent(
        data.get("title_id", ""),
        data.get("title_en", ""),
        data.get("text_id", ""),
        data.get("text_en", ""),
    )


async def news_other_language(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    if pressed_value(turn):
        ask = tr(turn.language, "What is the title in the other language?")
        return reply_step(turn, ask, SchoolState.NEWS_OTHER_TITLE, **turn.data)

    return audience_step(turn, turn.data, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)


async def news_pick(turn: Turn) -> Step:
    return toggle_class(turn, Key.NEWS_PICK, Key.NEWS_SEND, SchoolState.NEWS_AUDIENCE)


async def news_send(turn: Turn) -> Step:
    data = turn.data
    if turn.conversation.state not in (SchoolState.NEWS_AUDIENCE, SchoolState.NEWS_PHOTO):
        return menu_step(turn)
    post, count = news.post_news(
        turn.session,
        turn.org,
        acting_staff(turn),
        content=_content(data),
        audience=list(data.get("classes", [])),
    )

    done = tr(
        turn.language, "News #{id} is posted. Parents notified: {count}.", id=post.id, count=count
    )
    return reply_step(turn, done)


async def news_withdraw(turn: Turn) -> Step:
    post = news.get_post(turn.session, turn.org, pressed_value(turn))
    news.withdraw_news(turn.session, turn.org, acting_staff(turn), post)

    return reply_step(turn, tr(turn.language, "News #{id} is withdrawn.", id=post.id))


async def news_correct(turn: Turn) -> Step:
    turn.require(Action.NEWS_POST)
    post = news.get_post(turn.session, turn.org, pressed_value(turn))

    ask = tr(turn.language, "Write the corrected text of news #{id}.", id=post.id)
    return reply_step(turn, ask, SchoolState.NEWS_CORRECTION, post_id=post.id)


async def news_correction_typed(turn: Turn) -> Step:
    post = news.get_post(turn.session, turn.org, int(turn.data.get("post_id", 0)))
    language, _, _ = news.news_text(post, turn.language)
    content = news.NewsContent(post.title_id, post.title_en, post.body_id, post.body_en)
    content = replace(content, **{f"text_{language}": turn.inbound.text.strip()})
    news.correct_news(turn.session, turn.org, acting_staff(turn), post, content=content)

    done = tr(
        turn.language,
        "News #{id} is corrected (version {version}).",
        id=post.id,
        version=post.version,
    )
    return reply_step(turn, done)


async def parent_news(turn: Turn) -> Step:
    return news_list_step(turn, turn.data.get("child") or None)


def news_list_step(turn: Turn, child: int | None) -> Step:
    parent = acting_parent(turn, Action.NEWS_READ)
    posts = news.latest_news_for_parent(
        turn.session, turn.org, parent, student_id=child, limit=MAX_NEWS_LISTED
    )

    if not posts:
        text = tr(turn.language, "There is no news from the school yet.")
    else:
        text = tr(turn.language, "Latest news from {school}:", school=turn.org.name)
    buttons = []
    for post in posts:
        _, title, _ = news.news_text(post, turn.language)
        local = post.created_at.astimezone(ZoneInfo(turn.org.timezone))
        when = format_date(local.date(), turn.language)
        text += f"\n• {title} ({when})"
        buttons.append(key_button(title, Key.NEWS_OPEN, post.id))
    buttons += child_buttons(turn)
    buttons.append(menu_button(turn))
    text = child_note(turn, child) + text
    return Step([Text(text, tuple(buttons))], data={"child": child, "view": "news"})


async def parent_news_open(turn: Turn) -> Step:
    parent = acting_parent(turn, Action.NEWS_READ)
    post = news.news_for_parent(turn.session, turn.org, parent, pressed_value(turn))
    _, title, body = news.news_text(post, turn.language)

    text = f"{title}\n\n{body}"
    if post.version > 1:
        text += "\n\n" + tr(turn.language, "(corrected)")
    buttons = (key_button(tr(turn.language, "Back to news"), Key.NEWS_LIST), menu_button(turn))
    if post.photo is None:
        return Step([Text(text, buttons)], data=turn.data)
    name = f"news-{post.id}.jpg"
    if len(text) <= CAPTION_MAX:
        more = Text(tr(turn.language, "Other news:"), buttons)
        return Step([Photo(post.photo, text, name), more], data=turn.data)
    return Step([Photo(post.photo, title, name), Text(text, buttons)], data=turn.data)
