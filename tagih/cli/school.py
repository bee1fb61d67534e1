"""`tagih school`: staff, students and parents, news, calendar and monthly fees of a school.

The staff commands also serve merchants, and every other command rejects a merchant's --org.
Every command acts as the operator (with the super admin's rights) unless --as names the
phone of a staff member, whose role and classes then apply.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from billing.errors import UserError
from billing.orgs import get_organisation
from billing.school import bills, calendar, fees, ics, news, periods, staff, students
from billing.school.actors import OPERATOR, Actor, actor_for_phone, require_school
from billing.school.calendar_image import render_month_png
from billing.school.sheet import SheetRejected
from locales import Msg, format_date, format_rupiah, msg, tr
from models import Organisation, Student
from models.db import session_scope
from tagih.cli.common import cli_language, fail, print_json

DATE = click.DateTime(formats=["%Y-%m-%d"])
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def _echo(message: Msg) -> None:
    """Print a message in the --lang language."""
    click.echo(message.render(cli_language()))


def _split(values: tuple[str, ...]) -> list[str]:
    """Accept classes as repeated options or comma-separated: --class 7A --class "7B, 7C"."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _acting(session: Session, organisation: Organisation, phone: str | None) -> Actor:
    return actor_for_phone(session, organisation, phone) if phone else OPERATOR


def school_command(
    *, write: bool, merchants_too: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Open a session, load --org and the --as actor, and print user errors in --lang.

    Unless merchants_too is set, an --org that is not a school is rejected.
    """
    org_help = "Slug of the school or merchant." if merchants_too else "Slug of the school."

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--org", "slug", required=True, help=org_help)
        @click.option(
            "--as", "as_phone", default=None, help="Act as the staff member with this phone."
        )
        @functools.wraps(function)
        def wrapper(slug: str, as_phone: str | None, **options: Any) -> None:
            try:
                with session_scope(write=write) as session:
                    organisation = get_organisation(session, slug)
                    if not merchants_too:
                        require_school(organisation)
                    actor = _acting(session, organisation, as_phone)
                    function(session, organisation, actor, **options)
            except SheetRejected as error:
                _print_problems(error)
                fail(error)
            except UserError as error:
                fail(error)

        return wrapper

    return decorate


def _print_problems(error: SheetRejected) -> None:
    language = cli_language()
    for problem in error.result.problems:
        where = tr(language, "Row {row}", row=problem.row)
        click.echo(f"{where} {problem.column}: {problem.message.render(language)}", err=True)


@click.group("school")
def school_group() -> None:
    """Schools: staff, students and parents, news, calendar and monthly fees.

    The staff commands also serve merchants.
    """


# --- Staff ---------------------------------------------------------------------------------


@school_group.group("staff")
def staff_group() -> None:
    """Staff members and their roles, of a school or a merchant."""


def _staff_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option("--language", type=click.Choice(["id", "en"]), default=None)(function)
    function = click.option(
        "--class", "classes", multiple=True, help="Teacher's class (schools only)."
    )(function)
    function = click.option("--email", default=None, help="E-mail address, stored in lower case.")(
        function
    )
    function = click.option(
        "--role",
        required=True,
        help="super admin, finance, admin or teacher (teacher: schools only).",
    )(function)
    function = click.option("--phone", default=None, help="Mobile number, e.g. 0812xxxxxxx.")(
        function
    )
    return click.option("--name", required=True)(function)


@staff_group.command("add")
@_staff_options
@school_command(write=True, merchants_too=True)
def staff_add(session: Session, organisation: Organisation, actor: Actor, **values: Any) -> None:
    """Add a staff member."""
    entry = _staff_input(values)
    member = staff.add_staff(session, organisation, actor, entry)
    _echo(
        msg(
            "Added {name} as {role}.",
            name=member.name,
            role=tr(cli_language(), staff.ROLE_LABELS[member.role]),
        )
    )


@staff_group.command("change")
@click.argument("contact")
@_staff_options
@school_command(write=True, merchants_too=True)
def staff_change(
    session: Session, organisation: Organisation, actor: Actor, contact: str, **values: Any
) -> None:
    """Replace the details of the staff member with this phone or e-mail."""
    member = staff.find_staff(session, organisation, contact)
    staff.change_staff(session, organisation, actor, member, _staff_input(values))
    _echo(msg("Changed {name}.", name=member.name))


def _staff_input(values: dict[str, Any]) -> staff.StaffInput:
    return staff.StaffInput(
        name=values["name"],
        phone=values["phone"],
        role=values["role"],
        email=values["email"],
        classes=_split(values["classes"]),
        language=values["language"],
    )


@staff_group.command("remove")
@click.argument("contact")
@school_command(write=True, merchants_too=True)
def staff_remove(session: Session, organisation: Organisation, actor: Actor, contact: str) -> None:
    """Remove the staff member with this phone or e-mail."""
    member = staff.find_staff(session, organisation, contact)
    staff.remove_staff(session, organisation, actor, member)
    _echo(msg("Removed {name}.", name=member.name))


@staff_group.command("list")
@JSON_OPTION
@school_command(write=False, merchants_too=True)
def staff_list(session: Session, organisation: Organisation, actor: Actor, as_json: bool) -> None:
    """List active staff."""
    members = staff.list_staff(session, organisation, actor)
    rows = [
        {"name": m.name, "phone": m.phone, "email": m.email, "role": m.role, "classes": m.classes}
        for m in members
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        classes = ",".join(row["classes"])
        click.echo(
            f"{row['role']}\t{row['name']}\t{row['phone'] or ''}\t{row['email'] or ''}\t{classes}"
        )


@staff_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@school_command(write=True, merchants_too=True)
def staff_import(session: Session, organisation: Organisation, actor: Actor, path: Path) -> None:
    """Add or change staff from a staff sheet (.xlsx)."""
    result = staff.import_staff_sheet(session, organisation, actor, path.read_bytes())
    _echo(
        msg("Added {created}, changed {updated}.", created=result.created, updated=result.updated)
    )


# --- Students and parents ------------------------------------------------------------------


@school_group.group("student")
def student_group() -> None:
    """Students: registering, moving up a year and archiving."""


@student_group.command("add")
@click.option("--nis", required=True, help="Student number (NIS).")
@click.option("--name", required=True)
@click.option("--class", "class_name", required=True)
@school_command(write=True)
def student_add(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    nis: str,
    name: str,
    class_name: str,
) -> None:
    """Register a student."""
    student = students.add_student(
        session, organisation, actor, nis=nis, name=name, class_name=class_name
    )
    _echo(_student_placed(student))


def _student_placed(student: Student) -> Msg:
    return msg(
        "Registered {name} ({nis}) in class {class_name}.",
        name=student.name,
        nis=student.nis,
        class_name=student.class_name,
    )


@student_group.command("list")
@click.option("--class", "class_name", default=None)
@click.option("--all", "include_archived", is_flag=True, help="Include archived students.")
@JSON_OPTION
@school_command(write=False)
def student_list(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    class_name: str | None,
    include_archived: bool,
    as_json: bool,
) -> None:
    """List students by class."""
    found = students.list_students(
        session, organisation, actor, class_name=class_name, include_archived=include_archived
    )
    rows = [
        {"nis": s.nis, "name": s.name, "class": s.class_name, "active": s.active} for s in found
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        mark = "" if row["active"] else "\t" + tr(cli_language(), "archived")
        click.echo(f"{row['class']}\t{row['nis']}\t{row['name']}{mark}")


@student_group.command("promote")
@click.option("--map", "moves", multiple=True, required=True, help="Old=new class, e.g. 7A=8A.")
@click.option("--graduate", multiple=True, help="Class that leaves the school (archived).")
@school_command(write=True)
def student_promote(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    moves: tuple[str, ...],
    graduate: tuple[str, ...],
) -> None:
    """Move classes up a year at once; graduating classes are archived."""
    mapping = {}
    for move in moves:
        old, separator, new = move.partition("=")
        if not separator or not old.strip() or not new.strip():
            raise UserError(
                "school.promotion_map_invalid",
                "The class move {value} is invalid. Write it as 7A=8A.",
                value=move,
            )
        mapping[old] = new
    result = students.promote_classes(
        session, organisation, actor, mapping=mapping, graduating=_split(graduate)
    )
    language = cli_language()
    for class_name, count in sorted(result.moved.items()):
        click.echo(
            tr(
                language,
                "Students moved to class {class_name}: {count}.",
                class_name=class_name,
                count=count,
            )
        )
    click.echo(tr(language, "Students archived: {count}.", count=result.archived))


@student_group.command("move")
@click.argument("nis")
@click.option("--class", "class_name", required=True, help="The student's new class.")
@school_command(write=True)
def student_move(
    session: Session, organisation: Organisation, actor: Actor, nis: str, class_name: str
) -> None:
    """Move one student to another class."""
    student = students.get_student(session, organisation, nis)
    students.move_student(session, organisation, actor, student, class_name)
    _echo(_student_placed(student))


@student_group.command("archive")
@click.argument("nis")
@school_command(write=True)
def student_archive(session: Session, organisation: Organisation, actor: Actor, nis: str) -> None:
    """Archive a student who left; their bills and receipts stay."""
    student = students.get_student(session, organisation, nis)
    students.archive_student(session, organisation, actor, student)
    _echo(msg("Archived {name} ({nis}).", name=student.name, nis=student.nis))


@school_group.group("parent")
def parent_group() -> None:
    """Parents and their children."""


@parent_group.command("link")
@click.option("--nis", required=True, help="Student number (NIS) of the child.")
@click.option("--name", required=True, help="Parent's name.")
@click.option("--phone", default=None)
@click.option("--email", default=None, help="E-mail address, stored in lower case.")
@click.option("--language", type=click.Choice(["id", "en"]), default=None)
@click.option("--relation", default="parent", show_default=True)
@click.option("--payer/--no-payer", default=None, help="Whether this parent pays the bills.")
@school_command(write=True)
def parent_link(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    nis: str,
    name: str,
    phone: str | None,
    email: str | None,
    language: str | None,
    relation: str,
    payer: bool | None,
) -> None:
    """Register a parent (or find them by phone) and link them to a student."""
    student = students.get_student(session, organisation, nis)
    parent = students.add_parent(
        session, organisation, actor, name=name, phone=phone, email=email, language=language
    )
    students.link_parent(
        session,
        organisation,
        actor,
        student=student,
        parent=parent,
        relation=relation,
        is_payer=payer,
    )
    _echo(msg("Linked {parent} to {student}.", parent=parent.name, student=student.name))


# --- News ----------------------------------------------------------------------------------


@school_group.group("news")
def news_group() -> None:
    """News posts for parents."""


def _news_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--photo",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="JPEG or PNG photo.",
    )(function)
    function = click.option("--text-en", default="", help="Text in English.")(function)
    function = click.option("--title-en", default="", help="Title in English.")(function)
    function = click.option("--text-id", default="", help="Text in Indonesian.")(function)
    return click.option("--title-id", default="", help="Title in Indonesian.")(function)


def _news_content(values: dict[str, Any]) -> tuple[news.NewsContent, bytes | None]:
    content = news.NewsContent(
        values["title_id"], values["title_en"], values["text_id"], values["text_en"]
    )
    photo = values["photo"].read_bytes() if values["photo"] else None
    return content, photo


@news_group.command("post")
@_news_options
@click.option("--class", "classes", multiple=True, help="Audience class; none: whole school.")
@JSON_OPTION
@school_command(write=True)
def news_post(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    classes: tuple[str, ...],
    as_json: bool,
    **values: Any,
) -> None:
    """Post news and queue a notice to each parent of the audience."""
    content, photo = _news_content(values)
    post, parents = news.post_news(
        session, organisation, actor, content=content, audience=_split(classes), photo=photo
    )
    if as_json:
        print_json({"ok": True, "id": post.id, "audience": post.audience, "parents": parents})
        return
    _echo(msg("Posted news {id}. Parents notified: {count}.", id=post.id, count=parents))


@news_group.command("correct")
@click.argument("post_id", type=int)
@_news_options
@click.option("--quiet", is_flag=True, help="Do not notify parents again.")
@school_command(write=True)
def news_correct(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    post_id: int,
    quiet: bool,
    **values: Any,
) -> None:
    """Correct a post; options left out keep their current value.

    Parents who open the post later read the new version.
    """
    content, photo = _news_content(values)
    post = news.get_post(session, organisation, post_id)
    news.correct_news(
        session, organisation, actor, post, content=content, photo=photo, notify=not quiet
    )
    _echo(msg("News {id} is now version {version}.", id=post.id, version=post.version))


@news_group.command("withdraw")
@click.argument("post_id", type=int)
@school_command(write=True)
def news_withdraw(
    session: Session, organisation: Organisation, actor: Actor, post_id: int
) -> None:
    """Withdraw a post: parents no longer see it."""
    post = news.get_post(session, organisation, post_id)
    news.withdraw_news(session, organisation, actor, post)
    _echo(msg("Withdrew news {id}.", id=post.id))


@news_group.command("list")
@click.option("--parent", "parent_contact", default=None, help="List what this parent sees.")
@JSON_OPTION
@school_command(write=False)
def news_list(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    parent_contact: str | None,
    as_json: bool,
) -> None:
    """List the newest posts (for staff, or as one parent sees them)."""
    language = cli_language()
    if parent_contact:
        parent = students.find_parent(session, organisation, parent_contact)
        posts = news.latest_news_for_parent(session, organisation, parent)
    else:
        posts = news.list_news(session, organisation, actor)
    rows = []
    for post in posts:
        _, title, _ = news.news_text(post, language)
        rows.append(
            {
                "id": post.id,
                "title": title,
                "audience": post.audience,
                "version": post.version,
                "withdrawn": post.withdrawn_at is not None,
            }
        )
    if as_json:
        print_json(rows)
        return
    for row in rows:
        audience = ",".join(row["audience"]) or tr(language, "whole school")
        mark = "\t" + tr(language, "withdrawn") if row["withdrawn"] else ""
        click.echo(f"{row['id']}\tv{row['version']}\t{audience}\t{row['title']}{mark}")


# --- Calendar ------------------------------------------------------------------------------


@school_group.group("calendar")
def calendar_group() -> None:
    """The academic calendar."""


@calendar_group.command("add")
@click.option("--title-id", default="", help="Title in Indonesian.")
@click.option("--title-en", default="", help="Title in English.")
@click.option("--date", "start", type=DATE, required=True, help="First day, YYYY-MM-DD.")
@click.option("--until", "end", type=DATE, default=None, help="Last day, YYYY-MM-DD.")
@click.option("--time", "start_time", default=None, help="Start time, HH:MM.")
@click.option("--class", "classes", multiple=True, help="Audience class; none: whole school.")
@school_command(write=True)
def calendar_add(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    title_id: str,
    title_en: str,
    start: dt.datetime,
    end: dt.datetime | None,
    start_time: str | None,
    classes: tuple[str, ...],
) -> None:
    """Add an event."""
    time = _parse_time(start_time)
    event = calendar.add_event(
        session,
        organisation,
        actor,
        calendar.EventInput(
            title_id, title_en, start.date(), end.date() if end else None, time, _split(classes)
        ),
    )
    language = cli_language()
    click.echo(
        tr(
            language,
            "Added event {id}: {dates}.",
            id=event.id,
            dates=calendar.describe_event_dates(event, language),
        )
    )


def _parse_time(value: str | None) -> dt.time | None:
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise UserError(
            "school.time_invalid", "The time {value} is invalid. Write it as 07:30.", value=value
        ) from None


@calendar_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@school_command(write=True)
def calendar_import(
    session: Session, organisation: Organisation, actor: Actor, path: Path
) -> None:
    """Add the events of a calendar sheet (.xlsx)."""
    result = calendar.import_events_sheet(session, organisation, actor, path.read_bytes())
    _echo(msg("Events added: {count}.", count=result.created))


def _month(value: str | None, organisation: Organisation) -> tuple[int, int]:
    return fees.parse_period(value) if value else calendar.this_month(organisation)


@calendar_group.command("list")
@click.option("--month", default=None, help="YYYY-MM; default this month.")
@click.option("--parent", "parent_contact", default=None, help="Show what this parent sees.")
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the month as a picture to this file.",
)
@school_command(write=False)
def calendar_list(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    month: str | None,
    parent_contact: str | None,
    png_path: Path | None,
) -> None:
    """Print a month of events, for the whole school or as one parent sees it."""
    year, number = _month(month, organisation)
    if parent_contact:
        parent = students.find_parent(session, organisation, parent_contact)
        view = calendar.month_for_parent(session, organisation, parent, year, number)
    else:
        view = calendar.month_for_staff(session, organisation, actor, year, number)
    language = cli_language()
    click.echo(calendar.month_text(view, language))
    if png_path is not None:
        png_path.write_bytes(render_month_png(view, language))


@calendar_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--parent", "parent_contact", default=None, help="Only what this parent sees.")
@click.option("--since", type=DATE, default=None, help="Events ending on or after, YYYY-MM-DD.")
@school_command(write=False)
def calendar_export(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    output: Path,
    parent_contact: str | None,
    since: dt.datetime | None,
) -> None:
    """Write the calendar as an .ics file that phone calendars import."""
    first = since.date() if since else dt.date(*calendar.this_month(organisation), 1)
    if parent_contact:
        parent = students.find_parent(session, organisation, parent_contact)
        events = calendar.events_for_parent(session, organisation, parent, since=first)
        language = parent.language or organisation.language
    else:
        events = calendar.events_for_school(session, organisation, actor, since=first)
        language = cli_language()
    output.write_bytes(ics.export_ics(organisation, events, language=language))
    _echo(msg("Events written to {path}: {count}.", count=len(events), path=str(output)))


# --- Monthly fees --------------------------------------------------------------------------


@school_group.group("fees")
def fees_group() -> None:
    """Recurring monthly fees (SPP)."""


@fees_group.command("add")
@click.option("--component", required=True, help="Fee name shown on the bill, e.g. SPP.")
@click.option("--amount", type=int, required=True, help="Whole rupiah a month.")
@click.option("--day", "day_of_month", type=int, required=True, help="Due day of the month.")
@click.option("--class", "classes", multiple=True, help="Class billed; none: whole school.")
@school_command(write=True)
def fees_add(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    component: str,
    amount: int,
    day_of_month: int,
    classes: tuple[str, ...],
) -> None:
    """Add a monthly fee."""
    fee = fees.add_recurring_fee(
        session,
        organisation,
        actor,
        component=component,
        amount=amount,
        day_of_month=day_of_month,
        classes=_split(classes),
    )
    _echo(
        msg(
            "Added fee {id}: {component} {amount} on day {day}.",
            id=fee.id,
            component=fee.component,
            amount=format_rupiah(fee.amount),
            day=fee.day_of_month,
        )
    )


@fees_group.command("list")
@school_command(write=False)
def fees_list(session: Session, organisation: Organisation, actor: Actor) -> None:
    """List active monthly fees."""
    language = cli_language()
    for fee in fees.list_recurring_fees(session, organisation, actor):
        classes = ",".join(fee.classes) or tr(language, "whole school")
        click.echo(
            f"{fee.id}\t{fee.component}\t{format_rupiah(fee.amount)}\t{fee.day_of_month}\t{classes}"
        )


@fees_group.command("stop")
@click.argument("fee_id", type=int)
@school_command(write=True)
def fees_stop(session: Session, organisation: Organisation, actor: Actor, fee_id: int) -> None:
    """Stop a monthly fee from the next run on; invoices already issued stay."""
    fee = fees.stop_recurring_fee(session, organisation, actor, fee_id)
    _echo(msg("Stopped fee {id}: {component}.", id=fee.id, component=fee.component))


def _fee_item_status(item: Any) -> str:
    """Return "exists", "new" or "no_payer" for one student of a fee run preview."""
    if item.exists:
        return "exists"
    if item.payer:
        return "new"
    return "no_payer"


def _run_json(preview: fees.FeeRunPreview, issued: int | None = None) -> dict[str, Any]:
    items = [
        {
            "nis": i.student.nis,
            "student": i.student.name,
            "number": i.number,
            "payer": i.payer.name if i.payer else None,
            "due_date": i.due_date.isoformat(),
            "total": i.total,
            "status": _fee_item_status(i),
        }
        for i in preview.items
    ]
    data: dict[str, Any] = {
        "period": preview.period,
        "count": len(preview.new),
        "total": preview.total,
        "items": items,
    }
    if issued is not None:
        data["issued"] = issued
    return data


def _print_run(preview: fees.FeeRunPreview) -> None:
    language = cli_language()
    for item in preview.items:
        if item.exists:
            status = tr(language, "already billed")
        elif item.payer is None:
            status = tr(language, "no parent registered, not billed")
        else:
            status = item.payer.name
        due = format_date(item.due_date, language)
        click.echo(
            f"{item.number}\t{item.student.name}\t{format_rupiah(item.total)}\t{due}\t{status}"
        )
    click.echo(
        tr(
            language,
            "New invoices: {count}, total {total}.",
            count=len(preview.new),
            total=format_rupiah(preview.total),
        )
    )


@fees_group.command("preview")
@click.option("--period", required=True, help="Month to bill, YYYY-MM.")
@JSON_OPTION
@school_command(write=False)
def fees_preview(
    session: Session, organisation: Organisation, actor: Actor, period: str, as_json: bool
) -> None:
    """Show who a month's run would bill, without billing anyone."""
    preview = fees.preview_recurring_run(session, organisation, period, actor=actor)
    if as_json:
        print_json(_run_json(preview))
        return
    _print_run(preview)
    try:
        periods.check_run_period(organisation, preview)
    except UserError as problem:
        click.echo(problem.render(cli_language()), err=True)


@fees_group.command("run")
@click.option("--period", required=True, help="Month to bill, YYYY-MM.")
@click.option(
    "--allow-past",
    is_flag=True,
    help="Bill the month even when its due date has already passed.",
)
@JSON_OPTION
@school_command(write=True)
def fees_run(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    period: str,
    allow_past: bool,
    as_json: bool,
) -> None:
    """Issue the month's invoices (with VAs and notices); a second run creates nothing.

    A month whose due date has passed is rejected unless --allow-past is given, and a
    month more than 24 months ahead is always rejected.
    """
    try:
        result = fees.run_recurring_fees(
            session, organisation, period, actor=actor, allow_past=allow_past
        )
    except UserError as error:
        if error.code != "school.period_past":
            raise
        raise UserError(
            error.code, "{problem} To bill it anyway, add --allow-past.", problem=error.msg
        ) from error
    if as_json:
        print_json(_run_json(result.preview, issued=len(result.issued)))
        return
    _print_run(result.preview)
    _echo(msg("Invoices issued: {count}.", count=len(result.issued)))


# --- A parent's bills ----------------------------------------------------------------------


@school_group.command("bills")
@click.option("--parent", "parent_contact", required=True, help="Parent's phone or e-mail.")
@JSON_OPTION
@school_command(write=False)
def parent_bills(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    parent_contact: str,
    as_json: bool,
) -> None:
    """Show a parent's open bills per child, as the parent sees them in chat."""
    parent = students.find_parent(session, organisation, parent_contact)
    found = bills.open_bills_for_parent(session, parent.id)
    groups = [
        {
            "student": group.student.name if group.student else None,
            "nis": group.student.nis if group.student else None,
            "total": group.total,
            "bills": [
                {
                    "number": b.invoice.number,
                    "total": b.invoice.total,
                    "va": b.va_number,
                    "due_date": b.invoice.due_date.isoformat(),
                }
                for b in group.bills
            ],
        }
        for group in found.children
    ]
    if as_json:
        print_json({"total": found.total, "count": found.count, "children": groups})
        return
    language = cli_language()
    for group in groups:
        click.echo(f"{group['student'] or '-'}: {format_rupiah(group['total'])}")
        for bill in group["bills"]:
            click.echo(f"  {bill['number']}\t{format_rupiah(bill['total'])}\tVA {bill['va']}")
    click.echo(tr(language, "Total owed: {total}", total=format_rupiah(found.total)))


COMMANDS = [school_group]
