"""A picture of a calendar month (PNG), drawn with Pillow, for channels that show images."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import functools
import io
from pathlib import Path

from babel.dates import get_day_names
from PIL import Image, ImageDraw, ImageFont

from billing.school.calendar import MonthView, describe_event_dates, event_title, month_name
from locales import normalise_language, tr
from models import CalendarEvent

FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "DejaVuSans.ttf"
WIDTH = 980
MARGIN = 24
HEADER_HEIGHT = 70
WEEKDAY_HEIGHT = 34
CELL_HEIGHT = 92
LEGEND_LINE = 30
MAX_LEGEND_LINES = 14
MAX_MARKERS = 4
PALETTE = (
    (214, 69, 65),
    (38, 120, 178),
    (46, 160, 67),
    (230, 145, 30),
    (142, 68, 173),
    (22, 160, 133),
    (192, 57, 143),
    (120, 120, 40),
)
INK = (33, 37, 41)
MUTED = (134, 142, 150)
GRID = (206, 212, 218)
WEEKEND = (248, 240, 240)


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # DejaVu Sans ships with the project (billing/fonts) and covers Latin, Greek and Cyrillic
    # names. Pillow's own default font, used when the file is missing, covers basic Latin.
    if FONT_FILE.is_file():
        return ImageFont.truetype(str(FONT_FILE), size)
    return ImageFont.load_default(size=size)


def _colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:  # type: ignore[no-untyped-def]
    """Shorten text with an ellipsis until it fits the width in pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _events_by_day(view: MonthView) -> dict[int, list[int]]:
    """Map each day of the month to the indexes of the events on it."""
    days: dict[int, list[int]] = {}
    for index, event in enumerate(view.events):
        day = max(event.start_date, view.first_day)
        while day <= min(event.end_date, view.last_day):
            days.setdefault(day.day, []).append(index)
            day += dt.timedelta(days=1)
    return days


def render_month_png(
    view: MonthView, language: str | None, *, today: dt.date | None = None
) -> bytes:
    """Draw the month as a grid (Monday first) with a coloured marker per event and a legend."""
    language = normalise_language(language)
    weeks = stdlib_calendar.Calendar(firstweekday=0).monthdayscalendar(view.year, view.month)
    legend_lines = min(len(view.events), MAX_LEGEND_LINES) + (len(view.events) > MAX_LEGEND_LINES)
    grid_top = MARGIN + HEADER_HEIGHT + WEEKDAY_HEIGHT
    legend_top = grid_top + len(weeks) * CELL_HEIGHT + MARGIN
    height = legend_top + max(legend_lines, 1) * LEGEND_LINE + MARGIN
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    cell_width = (WIDTH - 2 * MARGIN) // 7

    draw.text((MARGIN, MARGIN), month_name(view, language), font=_font(34), fill=INK)
    day_names = get_day_names("abbreviated", locale=language)
    for column in range(7):
        x = MARGIN + column * cell_width
        draw.text((x + 8, MARGIN + HEADER_HEIGHT), day_names[column], font=_font(18), fill=MUTED)

    markers = _events_by_day(view)
    for row, week in enumerate(weeks):
        for column, day in enumerate(week):
            left, top = MARGIN + column * cell_width, grid_top + row * CELL_HEIGHT
            box = (left, top, left + cell_width, top + CELL_HEIGHT)
            draw.rectangle(box, fill=WEEKEND if column >= 5 else "white", outline=GRID)
            if day == 0:
                continue
            is_today = today is not None and today == dt.date(view.year, view.month, day)
            draw.text((left + 8, top + 6), str(day), font=_font(20), fill=INK)
            if is_today:
                draw.rectangle(box, outline=INK, width=3)
            _draw_markers(draw, markers.get(day, []), left, top, cell_width)

    _draw_legend(draw, view.events, language, legend_top)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def _draw_markers(
    draw: ImageDraw.ImageDraw, indexes: list[int], left: int, top: int, cell_width: int
) -> None:
    for slot, index in enumerate(indexes[:MAX_MARKERS]):
        y = top + 36 + slot * 12
        draw.rounded_rectangle(
            (left + 6, y, left + cell_width - 6, y + 8), radius=4, fill=_colour(index)
        )
    if len(indexes) > MAX_MARKERS:
        extra = f"+{len(indexes) - MAX_MARKERS}"
        draw.text((left + cell_width - 30, top + 6), extra, font=_font(14), fill=MUTED)


def _draw_legend(
    draw: ImageDraw.ImageDraw, events: list[CalendarEvent], language: str, top: int
) -> None:
    font = _font(18)
    if not events:
        draw.text((MARGIN, top), tr(language, "No events this month."), font=font, fill=MUTED)
        return
    for index, event in enumerate(events[:MAX_LEGEND_LINES]):
        y = top + index * LEGEND_LINE
        draw.rounded_rectangle((MARGIN, y + 3, MARGIN + 16, y + 19), radius=4, fill=_colour(index))
        classes = ", ".join(event.audience) or tr(language, "whole school")
        when = describe_event_dates(event, language)
        text = f"{when}  {event_title(event, language)} ({classes})"
        draw.text(
            (MARGIN + 26, y), _fit(draw, text, font, WIDTH - 2 * MARGIN - 26), font=font, fill=INK
        )
    hidden = len(events) - MAX_LEGEND_LINES
    if hidden > 0:
        y = top + MAX_LEGEND_LINES * LEGEND_LINE
        more = tr(language, "and {count} more events", count=hidden)
        draw.text((MARGIN + 26, y), more, font=font, fill=MUTED)
