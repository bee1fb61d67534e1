"""Calendar: events, month views for parents and staff, .ics export and the month picture."""

from __future__ import annotations

import datetime as dt
import io

import icalendar
import pytest
from openpyxl import Workbook
from PIL import Image
from sqlmodel import select

from billing.errors import PermissionDenied, UserError
from billing.school.calendar import (
    EventInput,
    add_event,
    events_for_parent,
    import_events_sheet,
    month_for_parent,
    month_for_staff,
    month_text,
    shift_month,
    this_month,
)
from billing.school.calendar_image import PALETTE, render_month_png
from billing.school.ics import escape_text, export_ics, fold_line
from billing.school.sheet import SheetRejected
from models import CalendarEvent, Customer
from tests.school.conftest import School, organisation_of, write


def _seed_events(school: School) -> None:
    entries = [
        (
            "admin",
            EventInput(
                "Ujian tengah semester", "Midterm exams", dt.date(2027, 3, 8), dt.date(2027, 3, 12)
            ),
        ),
        (
            "teacher",
            EventInput(
                "Kunjungan museum",
                "",
                dt.date(2027, 3, 17),
                start_time=dt.time(7, 30),
                audience=["7A"],
            ),
        ),
        (
            "admin",
            EventInput("Lomba sains 8A", "Science fair 8A", dt.date(2027, 3, 20), audience=["8A"]),
        ),
        (
            "admin",
            EventInput(
                "Libur Idul Fitri", "Eid holiday", dt.date(2027, 3, 29), dt.date(2027, 4, 2)
            ),
        ),
        ("admin", EventInput("Pentas seni", "Art show", dt.date(2027, 4, 24))),
    ]
    with write() as session:
        organisation = organisation_of(session, school)
        for role, entry in entries:
            add_event(session, organisation, school.actors[role], entry)


def test_parent_month_shows_children_classes(school: School) -> None:
    _seed_events(school)
    with write() as session:
        organisation = organisation_of(session, school)
        ani = session.get(Customer, school.parents["Ibu Ani"])
        march = month_for_parent(session, organisation, ani, 2027, 3)
        april = month_for_parent(session, organisation, ani, 2027, 4)
        bayu_only = month_for_parent(
            session, organisation, ani, 2027, 3, student_id=school.students["1002"]
        )
    assert [e.title_id for e in march.events] == [
        "Ujian tengah semester",
        "Kunjungan museum",
        "Libur Idul Fitri",
    ]
    assert [e.title_id for e in april.events] == ["Libur Idul Fitri", "Pentas seni"]
    assert "Kunjungan museum" not in [e.title_id for e in bayu_only.events]


def test_staff_month_shows_whole_school(school: School) -> None:
    _seed_events(school)
    with write() as session:
        organisation = organisation_of(session, school)
        view = month_for_staff(session, organisation, school.actors["teacher"], 2027, 3)
        with pytest.raises(PermissionDenied):
            month_for_staff(session, organisation, school.actors["finance"], 2027, 3)
    assert len(view.events) == 4


def test_month_text_in_both_languages(school: School) -> None:
    _seed_events(school)
    with write() as session:
        organisation = organisation_of(session, school)
        view = month_for_staff(session, organisation, school.actors["admin"], 2027, 3)
    indonesian = month_text(view, "id")
    english = month_text(view, "en")
    assert indonesian.splitlines()[0] == "Kalender Maret 2027"
    assert "8 Maret 2027 - 12 Maret 2027: Ujian tengah semester (seluruh sekolah)" in indonesian
    assert "17 Maret 2027 07:30: Kunjungan museum (7A)" in indonesian
    assert english.splitlines()[0] == "Calendar for March 2027"
    assert "Midterm exams (whole school)" in english
    assert "Kunjungan museum (7A)" in english  # no English title: the Indonesian one


def test_empty_month_text() -> None:
    from billing.school.calendar import MonthView

    assert month_text(MonthView(2027, 2, []), "en").splitlines()[1] == "No events this month."


@pytest.mark.parametrize(
    ("year", "month", "delta", "expected"),
    [
        (2027, 1, -1, (2026, 12)),
        (2026, 12, 1, (2027, 1)),
        (2027, 5, 0, (2027, 5)),
        (2027, 3, 14, (2028, 5)),
    ],
)
def test_shift_month(year: int, month: int, delta: int, expected: tuple[int, int]) -> None:
    assert shift_month(year, month, delta) == expected


def test_this_month_uses_school_zone(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
    late_utc = dt.datetime(2027, 1, 31, 18, 0, tzinfo=dt.UTC)  # 1 February 01:00 in Jakarta
    assert this_month(organisation, late_utc) == (2027, 2)


def test_teacher_event_scope(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        with pytest.raises(PermissionDenied):
            add_event(
                session,
                organisation,
                school.actors["teacher"],
                EventInput("Rapat", "", dt.date(2027, 3, 1)),
            )
        with pytest.raises(UserError) as reversed_dates:
            add_event(
                session,
                organisation,
                school.actors["admin"],
                EventInput("Rapat", "", dt.date(2027, 3, 2), dt.date(2027, 3, 1)),
            )
    assert reversed_dates.value.code == "school.event_dates_reversed"


def _unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    return text.replace("\r\n ", "").split("\r\n")


def test_ics_parses_back(school: School) -> None:
    _seed_events(school)
    stamp = dt.datetime(2027, 2, 1, 3, 0, tzinfo=dt.UTC)
    with write() as session:
        organisation = organisation_of(session, school)
        ani = session.get(Customer, school.parents["Ibu Ani"])
        events = events_for_parent(session, organisation, ani, since=dt.date(2027, 1, 1))
        data = export_ics(organisation, events, language="en", now=stamp)
    calendar = icalendar.Calendar.from_ical(data)
    parsed = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(parsed) == {"Midterm exams", "Kunjungan museum", "Eid holiday", "Art show"}
    exams = parsed["Midterm exams"]
    assert exams.decoded("DTSTART") == dt.date(2027, 3, 8)
    assert exams.decoded("DTEND") == dt.date(2027, 3, 13)  # exclusive end
    museum = parsed["Kunjungan museum"]
    assert museum.decoded("DTSTART") == dt.datetime(2027, 3, 17, 0, 30, tzinfo=dt.UTC)
    assert museum.decoded("DTEND") == dt.datetime(2027, 3, 17, 1, 30, tzinfo=dt.UTC)
    assert str(museum["DESCRIPTION"]) == "For: 7A"
    assert exams.decoded("DTSTAMP") == stamp
    assert len({str(e["UID"]) for e in parsed.values()}) == 4
    assert str(calendar["X-WR-CALNAME"]) == "SMP Harapan"


def test_ics_lines_crlf_and_folded(school: School) -> None:
    long_title = "Pertemuan orang tua, guru; dan komite sekolah " * 4 + "ÉÉÉ"
    with write() as session:
        organisation = organisation_of(session, school)
        event = add_event(
            session,
            organisation,
            school.actors["admin"],
            EventInput(long_title.strip(), "", dt.date(2027, 5, 3)),
        )
        data = export_ics(organisation, [event], language="id")
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    physical = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical)
    for line in physical:
        line.decode("utf-8")  # no UTF-8 character is split across a fold
    summary = next(line for line in _unfold(data) if line.startswith("SUMMARY:"))
    assert summary == "SUMMARY:" + escape_text(long_title.strip())
    parsed = next(iter(icalendar.Calendar.from_ical(data).walk("VEVENT")))
    assert str(parsed["SUMMARY"]) == long_title.strip()


def test_escape_and_fold_helpers() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    assert fold_line("X" * 75) == "X" * 75
    folded = fold_line("X" * 160)
    assert [len(part) for part in folded.split("\r\n")] == [75, 75, 12]
    assert fold_line("é" * 40).split("\r\n")[0] == "é" * 37


def test_month_png_renders(school: School) -> None:
    _seed_events(school)
    with write() as session:
        organisation = organisation_of(session, school)
        view = month_for_staff(session, organisation, school.actors["admin"], 2027, 3)
    data = render_month_png(view, "id", today=dt.date(2027, 3, 17))
    image = Image.open(io.BytesIO(data))
    colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert image.format == "PNG"
    assert image.width == 980
    assert image.height > 600
    for index in range(len(view.events)):
        assert PALETTE[index] in colours


def test_month_png_many_events(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        for day in range(1, 29):
            add_event(
                session,
                organisation,
                school.actors["admin"],
                EventInput(f"Kegiatan {day}", "", dt.date(2027, 2, day)),
            )
        view = month_for_staff(session, organisation, school.actors["admin"], 2027, 2)
    image = Image.open(io.BytesIO(render_month_png(view, "en")))
    assert image.height < 1200


def _events_sheet(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Kalender Akademik 2026/2027"])
    sheet.append(["Judul", "Title", "Tanggal Mulai", "Tanggal Selesai", "Jam", "Kelas"])
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def test_events_sheet_import(school: School) -> None:
    content = _events_sheet(
        [
            ["Upacara", "Flag ceremony", dt.date(2027, 8, 17), None, "07:00", None],
            ["Study tour", None, "3/9/2027", "5/9/2027", None, "7a, 7B"],
        ]
    )
    with write() as session:
        organisation = organisation_of(session, school)
        result = import_events_sheet(session, organisation, school.actors["admin"], content)
        events = session.exec(select(CalendarEvent)).all()
    assert result.created == 2
    by_title = {e.title_id: e for e in events}
    assert by_title["Upacara"].start_time == dt.time(7, 0)
    assert by_title["Study tour"].start_date == dt.date(2027, 9, 3)
    assert by_title["Study tour"].end_date == dt.date(2027, 9, 5)
    assert by_title["Study tour"].audience == ["7A", "7B"]


def test_events_sheet_rejects_bad_rows(school: School) -> None:
    content = _events_sheet(
        [
            ["Upacara", None, "31/02/2027", None, None, None],
            ["Rapat", None, dt.date(2027, 8, 1), None, "25:00", None],
            ["Kemah", None, dt.date(2027, 8, 1), None, None, "9Z"],
        ]
    )
    with pytest.raises(SheetRejected) as raised, write() as session:
        import_events_sheet(
            session, organisation_of(session, school), school.actors["admin"], content
        )
    assert [(p.row, p.column) for p in raised.value.result.problems] == [
        (3, "start"),
        (4, "time"),
    ]


def test_ics_school_zone_and_escaped_name(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        organisation.name = "SMP Harapan, Makassar; Kampus 2"
        organisation.timezone = "Asia/Makassar"
        event = add_event(
            session,
            organisation,
            school.actors["admin"],
            EventInput("", "Sports day", dt.date(2027, 5, 3), dt.date(2027, 5, 4), dt.time(8, 0)),
        )
        data = export_ics(organisation, [event], language="id")
    lines = _unfold(data)
    parsed = next(iter(icalendar.Calendar.from_ical(data).walk("VEVENT")))
    assert "X-WR-CALNAME:SMP Harapan\\, Makassar\\; Kampus 2" in lines
    assert parsed.decoded("DTSTART") == dt.datetime(2027, 5, 3, 0, 0, tzinfo=dt.UTC)  # 08:00 WITA
    assert parsed.decoded("DTEND") == dt.datetime(2027, 5, 4, 1, 0, tzinfo=dt.UTC)
    assert str(parsed["SUMMARY"]) == "Sports day"  # no Indonesian title: the English one
    assert str(parsed["DESCRIPTION"]) == "Untuk: seluruh sekolah"
