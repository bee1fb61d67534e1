"""School chat flows. Staff manage staff, students, news, the calendar and monthly fees,
and parents read news and the calendar.

Buttons are CallbackData(Op.EXTENSION, key=Key..., value=int). Typed text arrives in the
SchoolState states. Each handler checks the role through the billing.school functions.
"""

from __future__ import annotations

from billing.permissions import Action
from bot.core import registry
from bot.flows.school.calendar import (
    calendar_ics,
    calendar_month,
    calendar_this_month,
    child_chosen,
    event_dates_typed,
    event_new,
    event_pick,
    event_save,
    event_title_typed,
)
from bot.flows.school.common import SCHOOL_ONLY, Key, SchoolState, asking_again, audience_typed
from bot.flows.school.fees import fees_menu, fees_month, fees_run
from bot.flows.school.news import (
    news_correct,
    news_correction_typed,
    news_menu,
    news_new,
    news_other_language,
    news_pick,
    news_send,
    news_text_typed,
    news_title_typed,
    news_withdraw,
    parent_news,
    parent_news_open,
)
from bot.flows.school.staff import (
    staff_add,
    staff_change,
    staff_classes_typed,
    staff_contact_typed,
    staff_menu,
    staff_name_typed,
    staff_pick,
    staff_remove,
    staff_remove_confirmed,
    staff_role_chosen,
)
from bot.flows.school.students import (
    archive_nis_typed,
    parent_contact_typed,
    parent_link,
    parent_name_typed,
    parent_nis_typed,
    student_add,
    student_archive,
    student_archive_confirmed,
    student_class_typed,
    student_name_typed,
    student_nis_typed,
    students_menu,
)
from bot.flows.school.uploads import (
    FILE_STATES,
    ask_event_sheet,
    ask_news_photo,
    ask_staff_sheet,
    remind_file_awaited,
    school_document,
)
from locales import N_

MENU = [
    ("school_staff", N_("Staff"), staff_menu, Action.STAFF_MANAGE, 59),
    ("school_students", N_("Students"), students_menu, Action.STUDENT_MANAGE, 60),
    ("school_news", N_("Post news"), news_menu, Action.NEWS_POST, 61),
    ("school_event", N_("Add event"), event_new, Action.CALENDAR_EDIT, 62),
    (
        "school_calendar",
        N_("School calendar"),
        calendar_this_month,
        Action.CALENDAR_READ_SCHOOL,
        63,
    ),
    ("school_fees", N_("Monthly fees"), fees_menu, Action.RECURRING_FEE_MANAGE, 64),
    ("school_news_read", N_("School news"), parent_news, Action.NEWS_READ, 30),
    ("school_calendar_read", N_("Calendar"), calendar_this_month, Action.CALENDAR_READ, 31),
]


BUTTONS = {
    Key.STAFF_ADD: staff_add,
    Key.STAFF_PICK: staff_pick,
    Key.STAFF_CHANGE: staff_change,
    Key.STAFF_ROLE: staff_role_chosen,
    Key.STAFF_REMOVE: staff_remove,
    Key.STAFF_REMOVE_OK: staff_remove_confirmed,
    Key.NEWS_NEW: news_new,
    Key.NEWS_OTHER: news_other_language,
    Key.NEWS_PICK: news_pick,
    Key.NEWS_SEND: news_send,
    Key.NEWS_WITHDRAW: news_withdraw,
    Key.NEWS_CORRECT: news_correct,
    Key.NEWS_OPEN: parent_news_open,
    Key.NEWS_LIST: parent_news,
    Key.EVENT_PICK: event_pick,
    Key.EVENT_SAVE: event_save,
    Key.MONTH: calendar_month,
    Key.ICS: calendar_ics,
    Key.CHILD: child_chosen,
    Key.FEES_MONTH: fees_month,
    Key.FEES_RUN: fees_run,
    Key.STUDENT_ADD: student_add,
    Key.STUDENT_ARCHIVE: student_archive,
    Key.STUDENT_ARCHIVE_OK: student_archive_confirmed,
    Key.PARENT_LINK: parent_link,
    Key.EVENT_SHEET: ask_event_sheet,
    Key.NEWS_PHOTO: ask_news_photo,
    Key.STAFF_SHEET: ask_staff_sheet,
}


TYPED = {
    SchoolState.STAFF_NAME: staff_name_typed,
    SchoolState.STAFF_CONTACT: staff_contact_typed,
    SchoolState.STAFF_CLASSES: staff_classes_typed,
    SchoolState.NEWS_TITLE: news_title_typed,
    SchoolState.NEWS_TEXT: news_text_typed,
    SchoolState.NEWS_OTHER_TITLE: news_title_typed,
    SchoolState.NEWS_OTHER_TEXT: news_text_typed,
    SchoolState.NEWS_AUDIENCE: audience_typed,
    SchoolState.NEWS_CORRECTION: news_correction_typed,
    SchoolState.EVENT_TITLE: event_title_typed,
    SchoolState.EVENT_DATES: event_dates_typed,
    SchoolState.EVENT_AUDIENCE: audience_typed,
    SchoolState.STUDENT_NIS: student_nis_typed,
    SchoolState.STUDENT_NAME: student_name_typed,
    SchoolState.STUDENT_CLASS: student_class_typed,
    SchoolState.PARENT_NIS: parent_nis_typed,
    SchoolState.PARENT_NAME: parent_name_typed,
    SchoolState.PARENT_CONTACT: parent_contact_typed,
    SchoolState.ARCHIVE_NIS: archive_nis_typed,
    SchoolState.EVENT_SHEET: remind_file_awaited,
    SchoolState.NEWS_PHOTO: remind_file_awaited,
    SchoolState.STAFF_SHEET: remind_file_awaited,
}


PHRASES = [
    (r"\b(berita|pengumuman|news)\b", parent_news, Action.NEWS_READ),
    (r"\b(kalender|jadwal|calendar|agenda)\b", calendar_this_month, Action.CALENDAR_READ),
    (r"\b(kalender|jadwal|calendar|agenda)\b", calendar_this_month, Action.CALENDAR_READ_SCHOOL),
]


def register() -> None:
    for key, title, handler, action, order in MENU:
        registry.register_menu_entry(
            key, title, handler, action=action, kinds=SCHOOL_ONLY, order=order
        )
    for button_key, handler in BUTTONS.items():
        registry.register_button_handler(button_key.value, handler)
    for state, handler in TYPED.items():
        takes_text = handler is not remind_file_awaited
        registry.register_state_handler(state, asking_again(handler), takes_text=takes_text)
    for pattern, handler, action in PHRASES:
        registry.register_phrase(pattern, handler, action=action)
    # Files sent while a school state awaits one come here before the sheet upload of
    # bot.flows.merchant. Other files go to that upload first and come here only when it
    # declines them or the role may not use it, as for teachers.
    registry.register_document_handler(
        school_document,
        action=(Action.CALENDAR_EDIT, Action.NEWS_POST, Action.STAFF_MANAGE),
        states=[str(state) for state in FILE_STATES],
        kinds=SCHOOL_ONLY,
    )
