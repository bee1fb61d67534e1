"""News posts for parents: posting to an audience, correcting, withdrawing and reading."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing.errors import NotFound, UserError
from billing.notices import queue_notice
from billing.permissions import Action
from billing.school.actors import Actor, class_key, clean_classes, require_school
from billing.school.students import check_classes_exist, children_of, parents_of_classes
from locales import N_, msg, normalise_language
from models import Customer, NewsPost, Notice, NoticeKind, NoticeStatus, Organisation
from models.types import utcnow

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_TITLE = 200
# How many of the newest posts a parent's list is picked from. Older posts are not listed.
RECENT_POSTS = 200
LANGUAGE_NAMES = {"id": N_("Indonesian"), "en": N_("English")}


@dataclass
class NewsContent:
    """A post's text in Indonesian, English or both."""

    title_id: str = ""
    title_en: str = ""
    text_id: str = ""
    text_en: str = ""

    def cleaned(self) -> NewsContent:
        return NewsContent(
            " ".join(self.title_id.split()),
            " ".join(self.title_en.split()),
            self.text_id.strip(),
            self.text_en.strip(),
        )

    def filled_from(self, current: NewsContent) -> NewsContent:
        """Return this content with each blank field taken from `current`.

        A correction that gives only a new text keeps the current title, and the other way
        round. A language left out entirely keeps its current title and text.
        """
        fields = self.cleaned()
        return NewsContent(
            fields.title_id or current.title_id,
            fields.title_en or current.title_en,
            fields.text_id or current.text_id,
            fields.text_en or current.text_en,
        )


def check_content(content: NewsContent) -> None:
    pairs = {"id": (content.title_id, content.text_id), "en": (content.title_en, content.text_en)}
    for language, (title, text) in pairs.items():
        if bool(title) != bool(text):
            raise UserError(
                "school.news_half",
                "The post in {language} needs both a title and a text.",
                language=msg(LANGUAGE_NAMES[language]),
            )
        if len(title) > MAX_TITLE:
            raise UserError(
                "school.news_title_long",
                "The title is too long: {length} characters, at most {max}.",
                length=len(title),
                max=MAX_TITLE,
            )
    if not (content.title_id or content.title_en):
        raise UserError(
            "school.news_empty", "A post needs a title and a text in Indonesian or English."
        )


def _check_photo(photo: bytes | None) -> None:
    if photo is None:
        return
    if len(photo) > MAX_PHOTO_BYTES:
        raise UserError(
            "school.photo_large",
            "The photo is too large: {size} MB, at most {max} MB.",
            size=round(len(photo) / 1024 / 1024, 1),
            max=MAX_PHOTO_BYTES // 1024 // 1024,
        )
    if not (photo.startswith(b"\x89PNG\r\n\x1a\n") or photo.startswith(b"\xff\xd8\xff")):
        raise UserError("school.photo_type", "The photo must be a JPEG or PNG image.")


def news_text(post: NewsPost, language: str | None) -> tuple[str, str, str]:
    """Return (language, title, text) of a post in the reader's language, else the other one."""
    wanted = normalise_language(language)
    has = {"id": bool(post.title_id), "en": bool(post.title_en)}
    other = "en" if wanted == "id" else "id"
    chosen = wanted if has[wanted] else other
    if chosen == "id":
        return "id", post.title_id, post.body_id
    return "en", post.title_en, post.body_en


def _queue_news_notices(
    session: Session, organisation: Organisation, post: NewsPost, *, correction: bool
) -> int:
    parents = parents_of_classes(session, organisation, list(post.audience))
    for parent in parents:
        language, title, text = news_text(post, parent.language or organisation.language)
        queue_notice(
            session,
            organisation,
            kind=NoticeKind.NEWS,
            customer=parent,
            payload={
                "post_id": post.id,
                "version": post.version,
                "language": language,
                "title": title,
                "text": text,
                "has_photo": post.photo is not None,
                "correction": correction,
                "school": organisation.name,
            },
            dedupe_key=f"news:{post.id}:v{post.version}:{parent.id}",
        )
    return len(parents)


def _require_post(actor: Actor, audience: list[str]) -> None:
    actor.require(Action.NEWS_POST, classes=audience)


def post_news(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    content: NewsContent,
    audience: list[str] | None = None,
    photo: bytes | None = None,
) -> tuple[NewsPost, int]:
    """Save a post and queue a NEWS notice to each parent of its audience.

    An empty audience is the whole school. Return the post and the number of parents.
    """
    require_school(organisation)
    classes = clean_classes(audience)
    _require_post(actor, classes)
    content = content.cleaned()
    check_content(content)
    _check_photo(photo)
    check_classes_exist(session, organisation, classes)
    post = NewsPost(
        organisation_id=organisation.id,
        author_staff_id=actor.staff_id,
        title_id=content.title_id,
        title_en=content.title_en,
        body_id=content.text_id,
        body_en=content.text_en,
        photo=photo,
        audience=classes,
    )
    session.add(post)
    session.flush()
    return post, _queue_news_notices(session, organisation, post, correction=False)


def get_post(session: Session, organisation: Organisation, post_id: int) -> NewsPost:
    post = session.get(NewsPost, post_id)
    if post is None or post.organisation_id != organisation.id:
        raise NotFound("school.news_not_found", "News post {id} was not found.", id=str(post_id))
    return post


def correct_news(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    post: NewsPost,
    *,
    content: NewsContent,
    photo: bytes | None = None,
    notify: bool = True,
) -> tuple[NewsPost, int]:
    """Replace the given fields of a post's text (and photo when given) and bump its version.

    Blank fields of `content` keep their current value, so a post cannot lose a language by
    a correction. Parents who open it later read the new version. With notify, its audience
    gets a notice again.
    """
    _require_post(actor, list(post.audience))
    if post.withdrawn_at is not None:
        raise UserError("school.news_withdrawn", "News post {id} was withdrawn.", id=str(post.id))
    current = NewsContent(post.title_id, post.title_en, post.body_id, post.body_en)
    content = content.filled_from(current)
    check_content(content)
    _check_photo(photo)
    post.title_id, post.title_en = content.title_id, content.title_en
    post.body_id, post.body_en = content.text_id, content.text_en
    if photo is not None:
        post.photo = photo
    post.version += 1
    post.updated_at = utcnow()
    session.flush()
    if not notify:
        return post, 0
    return post, _queue_news_notices(session, organisation, post, correction=True)


def withdraw_news(
    session: Session, organisation: Organisation, actor: Actor, post: NewsPost
) -> NewsPost:
    """Hide a post from parents and cancel its notices that have not been sent yet."""
    _require_post(actor, list(post.audience))
    if post.withdrawn_at is None:
        post.withdrawn_at = utcnow()
        post.updated_at = post.withdrawn_at
        pending = session.exec(
            select(Notice).where(
                Notice.organisation_id == organisation.id,
                Notice.kind == NoticeKind.NEWS,
                Notice.status == NoticeStatus.PENDING,
                col(Notice.dedupe_key).startswith(f"news:{post.id}:"),
            )
        ).all()
        for notice in pending:
            notice.status = NoticeStatus.CANCELLED
        session.flush()
    return post


def _recent_posts(session: Session, organisation: Organisation) -> list[NewsPost]:
    return list(
        session.exec(
            select(NewsPost)
            .where(NewsPost.organisation_id == organisation.id)
            .order_by(col(NewsPost.created_at).desc(), col(NewsPost.id).desc())
            .limit(RECENT_POSTS)
        ).all()
    )


def parent_classes(
    session: Session, customer: Customer, student_id: int | None = None
) -> set[str]:
    """Return the classes of a parent's active children, or of one child when given."""
    children = children_of(session, customer.id)
    if student_id is not None:
        children = [child for child in children if child.id == student_id]
        if not children:
            raise NotFound("school.child_not_found", "This student is not your child.")
    return {class_key(child.class_name) for child in children}


def latest_news_for_parent(
    session: Session,
    organisation: Organisation,
    customer: Customer,
    *,
    student_id: int | None = None,
    limit: int = 10,
) -> list[NewsPost]:
    """Return the newest posts for the parent's children's classes or the whole school.

    Withdrawn posts are left out; student_id narrows the list to one child's class.
    """
    classes = parent_classes(session, customer, student_id)
    if not classes:
        return []
    found = [
        post
        for post in _recent_posts(session, organisation)
        if post.withdrawn_at is None and (not post.audience or classes & set(post.audience))
    ]
    return found[:limit]


def news_for_parent(
    session: Session, organisation: Organisation, customer: Customer, post_id: int
) -> NewsPost:
    """Return one post the parent may read (current version), or raise NotFound."""
    post = session.get(NewsPost, post_id)
    classes = parent_classes(session, customer)
    if (
        post is None
        or post.organisation_id != organisation.id
        or post.withdrawn_at is not None
        or (post.audience and not classes & set(post.audience))
        or not classes
    ):
        raise NotFound("school.news_not_found", "News post {id} was not found.", id=str(post_id))
    return post


def list_news(
    session: Session, organisation: Organisation, actor: Actor, *, limit: int = 20
) -> list[NewsPost]:
    """Return the newest posts for staff, withdrawn ones included; teachers see their classes."""
    actor.require(Action.NEWS_POST)
    posts = _recent_posts(session, organisation)
    if actor.role == "teacher":
        own = set(actor.classes)
        posts = [post for post in posts if post.audience and set(post.audience) <= own]
    return posts[:limit]
