"""Images sent as photos: news photos take them, and sheet uploads explain what to send."""

from __future__ import annotations

import io

from PIL import Image
from sqlmodel import select

from models import CalendarEvent, ImportBatch, NewsPost
from models.db import session_scope
from tests.chat.conftest import ADMIN, BUDI, SCHOOL_ADMIN, World

PHOTO_INSTEAD_OF_SHEET_ID = (
    "Anda mengirim foto, padahal langkah ini memerlukan spreadsheet. Kirim sheet .xlsx-nya "
    "sebagai file, bukan foto atau tangkapan layarnya."
)
PHOTO_INSTEAD_OF_SHEET_EN = (
    "You sent a photo, but this step needs a spreadsheet. Send the .xlsx sheet itself as a "
    "file, not a photo or screenshot of it."
)


def _jpeg() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (8, 6), "green").save(output, format="JPEG")
    return output.getvalue()


def _downloads(user) -> list[str]:  # type: ignore[no-untyped-def]
    return [call.method for call in user.api.calls if call.method in ("getFile", "download")]


def test_news_photo_sent_as_photo(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(SCHOOL_ADMIN)
    user.say("menu")
    user.choose("Post news")
    user.choose("New post")
    user.say("Field trip")
    user.say("Bring a packed lunch tomorrow.")
    user.choose("Choose audience")
    user.choose("Add photo")
    assert "Send the photo as a file or as an ordinary photo" in user.last_text()
    content = _jpeg()

    user.send_photo(content, caption="museum")

    assert "News #1 is posted." in "\n".join(user.texts()[-2:])
    with session_scope() as session:
        post = session.exec(select(NewsPost)).one()
    assert post.photo == content


def test_photo_instead_of_bill_sheet(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)

    user.send_photo(_jpeg())

    assert user.last_text() == PHOTO_INSTEAD_OF_SHEET_ID
    with session_scope() as session:
        assert session.exec(select(ImportBatch)).all() == []


def test_image_file_instead_of_bill_sheet(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(ADMIN)

    user.send_document("tagihan.jpg", _jpeg(), mime_type="image/jpeg")

    assert user.last_text() == (
        "Anda mengirim gambar (tagihan.jpg), padahal langkah ini memerlukan spreadsheet. "
        "Kirim sheet .xlsx-nya sebagai file, bukan foto atau tangkapan layarnya."
    )


def test_photo_instead_of_calendar_sheet(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(SCHOOL_ADMIN)
    user.say("menu")
    user.choose("Add event")
    user.choose("Import calendar sheet")

    user.send_photo(_jpeg())

    assert user.last_text().startswith(PHOTO_INSTEAD_OF_SHEET_EN)
    assert "Send the corrected file" in user.last_text()
    with session_scope() as session:
        assert session.exec(select(CalendarEvent)).all() == []


def test_payer_photo_not_downloaded(world: World, chat) -> None:  # type: ignore[no-untyped-def]
    user = chat(BUDI)

    user.send_photo(_jpeg())

    assert "Hanya staf yang mengunggah tagihan yang dapat mengirim file di sini." in "\n".join(
        user.texts()
    )
    assert _downloads(user) == []
