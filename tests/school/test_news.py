"""News posts: audience targeting, languages, teacher scope, correction and withdrawal."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import select

from billing.errors import NotFound, PermissionDenied, UserError
from billing.school.news import (
    NewsContent,
    correct_news,
    latest_news_for_parent,
    list_news,
    news_for_parent,
    post_news,
    withdraw_news,
)
from models import Customer, NewsPost, Notice, NoticeKind, NoticeStatus
from tests.school.conftest import School, organisation_of, write

BOTH = NewsContent(
    title_id="Libur sekolah",
    title_en="School holiday",
    text_id="Sekolah libur hari Jumat.",
    text_en="School is closed on Friday.",
)


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(output, format="PNG")
    return output.getvalue()


def _notices(session) -> dict[int, Notice]:  # type: ignore[no-untyped-def]
    rows = session.exec(select(Notice).where(Notice.kind == NoticeKind.NEWS)).all()
    return {notice.customer_id: notice for notice in rows}


def test_class_post_reaches_class_parents_only(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        post, count = post_news(
            session, organisation, school.actors["teacher"], content=BOTH, audience=["7a"]
        )
        notices = _notices(session)
    assert post.audience == ["7A"]
    assert count == 1
    assert set(notices) == {school.parents["Ibu Ani"]}
    assert (
        notices[school.parents["Ibu Ani"]].dedupe_key
        == f"news:{post.id}:v1:{school.parents['Ibu Ani']}"
    )


def test_school_post_in_each_parent_language(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        post, count = post_news(
            session, organisation, school.actors["admin"], content=BOTH, photo=_png()
        )
        notices = _notices(session)
    ani, bayu, citra = (
        notices[school.parents[name]] for name in ("Ibu Ani", "Mr Bayu", "Ibu Citra")
    )
    assert count == 3
    assert ani.payload["title"] == "Libur sekolah"
    assert bayu.payload["title"] == "School holiday"
    assert bayu.payload["text"] == "School is closed on Friday."
    assert bayu.language == "en"
    assert citra.payload["language"] == "id"  # no language of her own: the school's
    assert ani.payload["has_photo"] is True
    assert ani.payload["post_id"] == post.id


def test_single_language_post_reaches_everyone(school: School) -> None:
    content = NewsContent(title_id="Rapat orang tua", text_id="Rapat hari Sabtu pukul 09.00.")
    with write() as session:
        post_news(
            session, organisation_of(session, school), school.actors["admin"], content=content
        )
        notices = _notices(session)
    assert notices[school.parents["Mr Bayu"]].payload["title"] == "Rapat orang tua"
    assert notices[school.parents["Mr Bayu"]].payload["language"] == "id"


def test_teacher_limited_to_own_classes(school: School) -> None:
    teacher = school.actors["teacher"]
    with write() as session:
        organisation = organisation_of(session, school)
        with pytest.raises(PermissionDenied) as other_class:
            post_news(session, organisation, teacher, content=BOTH, audience=["7B"])
        with pytest.raises(PermissionDenied) as whole_school:
            post_news(session, organisation, teacher, content=BOTH)
        with pytest.raises(PermissionDenied) as finance:
            post_news(session, organisation, school.actors["finance"], content=BOTH)
    assert other_class.value.code == "permission.class_scope"
    assert whole_school.value.code == "permission.class_scope"
    assert finance.value.code == "permission.denied"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (NewsContent(title_id="Judul"), "school.news_half"),
        (NewsContent(), "school.news_empty"),
        (NewsContent(title_en="x" * 201, text_en="y"), "school.news_title_long"),
    ],
)
def test_post_invalid_content(school: School, content: NewsContent, code: str) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        post_news(
            session, organisation_of(session, school), school.actors["admin"], content=content
        )
    assert raised.value.code == code


def test_post_rejects_non_image_photo(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        post_news(
            session,
            organisation_of(session, school),
            school.actors["admin"],
            content=BOTH,
            photo=b"%PDF-1.7",
        )
    assert raised.value.code == "school.photo_type"


def test_post_unknown_class(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        post_news(
            session,
            organisation_of(session, school),
            school.actors["admin"],
            content=BOTH,
            audience=["12Z"],
        )
    assert raised.value.code == "school.class_unknown"


def test_correction_bumps_version_and_notifies(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        post, _ = post_news(
            session, organisation, school.actors["teacher"], content=BOTH, audience=["7A"]
        )
        fixed = NewsContent(
            title_id="Libur sekolah",
            title_en="School holiday",
            text_id="Sekolah libur hari Kamis.",
            text_en="School is closed on Thursday.",
        )
        correct_news(session, organisation, school.actors["teacher"], post, content=fixed)
        keys = sorted(n.dedupe_key for n in session.exec(select(Notice)).all())
        ani = session.get(Customer, school.parents["Ibu Ani"])
        seen = news_for_parent(session, organisation, ani, post.id)
    assert post.version == 2
    assert keys == [
        f"news:{post.id}:v1:{school.parents['Ibu Ani']}",
        f"news:{post.id}:v2:{school.parents['Ibu Ani']}",
    ]
    assert seen.body_id == "Sekolah libur hari Kamis."


def test_withdrawal_hides_post_and_cancels_notices(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        post, _ = post_news(session, organisation, school.actors["admin"], content=BOTH)
        withdraw_news(session, organisation, school.actors["admin"], post)
        statuses = {n.status for n in session.exec(select(Notice)).all()}
        ani = session.get(Customer, school.parents["Ibu Ani"])
        latest = latest_news_for_parent(session, organisation, ani)
        staff_view = list_news(session, organisation, school.actors["admin"])
        with pytest.raises(NotFound):
            news_for_parent(session, organisation, ani, post.id)
        with pytest.raises(UserError) as correcting:
            correct_news(session, organisation, school.actors["admin"], post, content=BOTH)
    assert statuses == {NoticeStatus.CANCELLED}
    assert latest == []
    assert [p.id for p in staff_view] == [post.id]
    assert correcting.value.code == "school.news_withdrawn"


def test_teacher_cannot_withdraw_other_class_post(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        post, _ = post_news(
            session, organisation, school.actors["admin"], content=BOTH, audience=["7B"]
        )
        with pytest.raises(PermissionDenied):
            withdraw_news(session, organisation, school.actors["teacher"], post)


def test_latest_news_per_child(school: School) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        admin = school.actors["admin"]
        seventh_a, _ = post_news(session, organisation, admin, content=BOTH, audience=["7A"])
        seventh_b, _ = post_news(session, organisation, admin, content=BOTH, audience=["7B"])
        eighth, _ = post_news(session, organisation, admin, content=BOTH, audience=["8A"])
        everyone, _ = post_news(session, organisation, admin, content=BOTH)
        ani = session.get(Customer, school.parents["Ibu Ani"])
        all_children = [p.id for p in latest_news_for_parent(session, organisation, ani)]
        only_bayu = [
            p.id
            for p in latest_news_for_parent(
                session, organisation, ani, student_id=school.students["1002"]
            )
        ]
        with pytest.raises(NotFound):
            news_for_parent(session, organisation, ani, eighth.id)
        with pytest.raises(NotFound):
            latest_news_for_parent(session, organisation, ani, student_id=school.students["1003"])
        posts = session.exec(select(NewsPost)).all()
    assert set(all_children) == {seventh_a.id, seventh_b.id, everyone.id}
    assert all_children[0] == everyone.id
    assert set(only_bayu) == {seventh_b.id, everyone.id}
    assert len(posts) == 4


def test_other_school_post_not_visible(school: School) -> None:
    from billing.orgs import create_organisation
    from billing.school.actors import OPERATOR
    from billing.school.news import get_post
    from billing.school.students import add_student

    with write() as session:
        other = create_organisation(
            session,
            slug="sd-lain",
            kind="school",
            name="SD Lain",
            company_code="8810",
            admin_phone="081255550000",
        )
        add_student(session, other, OPERATOR, nis="1001", name="Ani Lain", class_name="7A")
        foreign, _ = post_news(session, other, OPERATOR, content=BOTH)
        organisation = organisation_of(session, school)
        ani = session.get(Customer, school.parents["Ibu Ani"])
        visible = latest_news_for_parent(session, organisation, ani)
        with pytest.raises(NotFound):
            news_for_parent(session, organisation, ani, foreign.id)
        with pytest.raises(NotFound):
            get_post(session, organisation, foreign.id)
    assert visible == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (NewsContent(text_id="Koreksi"), ("Libur sekolah", "Koreksi")),
        (NewsContent(title_id="Libur besok"), ("Libur besok", "Sekolah libur hari Jumat.")),
    ],
)
def test_correction_keeps_fields_not_given(
    school: School, change: NewsContent, expected: tuple[str, str]
) -> None:
    with write() as session:
        organisation = organisation_of(session, school)
        post, _ = post_news(session, organisation, school.actors["admin"], content=BOTH)
        correct_news(session, organisation, school.actors["admin"], post, content=change)
    assert (post.title_id, post.body_id) == expected
    assert post.title_en == "School holiday"
    assert post.body_en == "School is closed on Friday."
    assert post.version == 2


def test_half_post_names_language_in_words(school: School) -> None:
    with write() as session, pytest.raises(UserError) as raised:
        post_news(
            session,
            organisation_of(session, school),
            school.actors["admin"],
            content=NewsContent(title_en="Holiday"),
        )
    assert raised.value.render("en") == "The post in English needs both a title and a text."
    assert raised.value.render("id") == "Berita dalam bahasa Inggris perlu judul dan isi."
