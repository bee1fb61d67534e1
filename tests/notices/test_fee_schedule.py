"""The recurring-fees job: the preview to finance, the monthly run, and news photo types."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlmodel import select

from billing.notices import photo_file_type, render_notice
from billing.school.fees import add_recurring_fee, run_recurring_fees
from billing.school.news import NewsContent, post_news
from jobs.scheduler import manual_run_key, run_job
from models import Invoice, Notice, NoticeKind, StaffRole, StaffUser
from models.db import session_scope
from tests.notices.helpers import jakarta
from tests.school.conftest import School, organisation_of, seed_school, write


@pytest.fixture
def school(database: str) -> School:
    """The seeded school, with its finance staff member reading English."""
    seeded = seed_school()
    with write() as session:
        finance = session.exec(
            select(StaffUser).where(
                StaffUser.organisation_id == seeded.organisation_id,
                StaffUser.role == StaffRole.FINANCE,
            )
        ).one()
        finance.language = "en"
    return seeded


def _add_spp(school: School, *, preferences: dict | None = None) -> None:
    """Bill SPP of Rp350.000 to the whole school: three students with a parent, one without."""
    with write() as session:
        organisation = organisation_of(session, school)
        if preferences is not None:
            organisation.preferences = preferences
        add_recurring_fee(
            session,
            organisation,
            school.actors["finance"],
            component="SPP",
            amount=350_000,
            day_of_month=10,
        )


async def _run(moment: dt.datetime) -> dict:
    """Run the job as an operator would, with a key of its own, so it never skips."""
    return await run_job(
        "recurring-fees", now=moment, key=manual_run_key("recurring-fees", moment)
    )


def _invoice_numbers() -> list[str]:
    with session_scope() as session:
        return sorted(session.exec(select(Invoice.number)).all())


def _previews() -> list[Notice]:
    with session_scope() as session:
        query = select(Notice).where(Notice.kind == NoticeKind.FEE_PREVIEW).order_by(Notice.id)
        return list(session.exec(query).all())


def _preview_to(language: str, period: str = "2027-02") -> Notice:
    matches = [
        notice
        for notice in _previews()
        if notice.language == language and notice.payload["period"] == period
    ]
    assert len(matches) == 1
    return matches[0]


async def test_job_bills_month_once(school: School) -> None:
    _add_spp(school)

    assert await _run(jakarta(2027, 1, 29, 9)) == {"previews": 2, "issued": 0}
    assert await _run(jakarta(2027, 1, 31, 23, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 1, 8, 45)) == {"previews": 0, "issued": 0}
    assert _invoice_numbers() == []

    assert await _run(jakarta(2027, 2, 1, 9)) == {"previews": 0, "issued": 3}
    assert await _run(jakarta(2027, 2, 1, 9, 15)) == {"previews": 0, "issued": 0}
    assert _invoice_numbers() == ["SPP-2027-02-1001", "SPP-2027-02-1002", "SPP-2027-02-1003"]


async def test_job_skips_duplicate_trigger(school: School) -> None:
    _add_spp(school)
    await _run(jakarta(2027, 1, 29, 9))

    first = await run_job("recurring-fees", now=jakarta(2027, 2, 1, 9, 5))
    second = await run_job("recurring-fees", now=jakarta(2027, 2, 1, 9, 10))

    assert first == {"previews": 0, "issued": 3}
    assert second == {"skipped": "already ran for recurring-fees:2027-02-01T02:00Z"}
    assert len(_invoice_numbers()) == 3


async def test_nothing_billed_before_first(school: School) -> None:
    _add_spp(school, preferences={"recurring_fee_preview_days": 0})
    with write() as session:
        organisation = organisation_of(session, school)
        run_recurring_fees(session, organisation, "2027-01", now=jakarta(2027, 1, 1))

    assert await _run(jakarta(2027, 1, 31, 20, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 1, 8, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 1, 9)) == {"previews": 2, "issued": 3}
    assert _invoice_numbers()[3:] == ["SPP-2027-02-1001", "SPP-2027-02-1002", "SPP-2027-02-1003"]


async def test_nothing_billed_in_quiet_hours(school: School) -> None:
    _add_spp(school, preferences={"recurring_fee_preview_days": 0})

    assert await _run(jakarta(2027, 1, 5, 22)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 1, 6, 6, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 1, 6, 7)) == {"previews": 2, "issued": 3}


async def test_preview_once_per_month(school: School) -> None:
    _add_spp(school)

    assert await _run(jakarta(2027, 1, 29, 8, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 1, 29, 9)) == {"previews": 2, "issued": 0}
    assert await _run(jakarta(2027, 1, 30, 9)) == {"previews": 0, "issued": 0}
    await _run(jakarta(2027, 2, 1, 9))
    assert await _run(jakarta(2027, 2, 26, 8, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 26, 9)) == {"previews": 2, "issued": 0}

    previews = _previews()
    periods = [notice.payload["period"] for notice in previews]
    assert periods == ["2027-02", "2027-02", "2027-03", "2027-03"]
    assert sorted(notice.recipient_name for notice in previews[:2]) == ["Bu Sari", "Pak Budi"]
    assert {notice.dedupe_key for notice in previews[:2]} == {
        f"fee_preview:{school.organisation_id}:2027-02:{notice.staff_id}"
        for notice in previews[:2]
    }


async def test_preview_figures(school: School) -> None:
    _add_spp(school)
    await _run(jakarta(2027, 1, 29, 9))

    payload = _preview_to("en").payload

    assert payload["run_date"] == "2027-02-01"
    assert payload["count"] == 3
    assert payload["total"] == 1_050_000
    assert payload["without_payer"] == 1
    assert payload["without_payer_students"] == [{"name": "Dewi", "class": "7A"}]
    assert payload["already_billed"] == 0


async def test_preview_text_in_english(school: School) -> None:
    _add_spp(school)
    await _run(jakarta(2027, 1, 29, 9))
    notice = _preview_to("en")

    with session_scope() as session:
        email = render_notice(session, notice, "email")
        sms = render_notice(session, notice, "sms")
        whatsapp = render_notice(session, notice, "whatsapp")

    assert email.subject == "SMP Harapan: monthly fees for February 2027"
    lines = email.text.splitlines()
    assert "Billing date: 1 February 2027" in lines
    assert "Students billed: 3" in lines
    assert "Total: Rp1.050.000" in lines
    assert "Skipped, no parent linked: 1" in lines
    assert "- Dewi (7A)" in lines
    assert "Link a parent before 1 February 2027 to include them in this run." in lines
    assert sms.text == (
        "SMP Harapan: fees for February 2027 go out on 1 February 2027. "
        "Students billed: 3, total Rp1.050.000, skipped: 1."
    )
    assert whatsapp.whatsapp_template_params == (
        "SMP Harapan",
        "February 2027",
        "1 February 2027",
        "3",
        "Rp1.050.000",
        "1",
    )


async def test_preview_text_in_indonesian(school: School) -> None:
    _add_spp(school)
    await _run(jakarta(2027, 1, 29, 9))
    notice = _preview_to("id")

    with session_scope() as session:
        email = render_notice(session, notice, "email")

    assert notice.recipient_name == "Bu Sari"
    assert email.subject == "SMP Harapan: tagihan bulanan Februari 2027"
    lines = email.text.splitlines()
    assert "Tanggal penagihan: 1 Februari 2027" in lines
    assert "Siswa yang ditagih: 3" in lines
    assert "Total: Rp1.050.000" in lines
    assert "Dilewati karena belum terhubung ke orang tua: 1" in lines
    assert "Hubungkan orang tua sebelum 1 Februari 2027 agar siswa tersebut ikut ditagih." in lines
    assert "- Dewi (7A)" in lines


async def test_preview_counts_already_billed(school: School) -> None:
    _add_spp(school)
    with write() as session:
        organisation = organisation_of(session, school)
        # Finance bills February by hand and then adds a fee, so February is still
        # unbilled for that fee and its preview lists every student as already billed.
        run_recurring_fees(session, organisation, "2027-02", now=jakarta(2027, 1, 20))
        add_recurring_fee(
            session,
            organisation,
            school.actors["finance"],
            component="Uang Buku",
            amount=75_000,
            day_of_month=20,
        )

    assert await _run(jakarta(2027, 1, 29, 9)) == {"previews": 2, "issued": 0}
    notice = _preview_to("en")
    with session_scope() as session:
        lines = render_notice(session, notice, "email").text.splitlines()

    assert notice.payload["count"] == 0
    assert notice.payload["already_billed"] == 3
    assert "Students billed: 0" in lines
    assert "Total: Rp0" in lines
    assert "Skipped, already billed for February 2027: 3" in lines
    assert await _run(jakarta(2027, 2, 1, 9)) == {"previews": 0, "issued": 0}


async def test_preview_without_skipped_students(school: School) -> None:
    with write() as session:
        add_recurring_fee(
            session,
            organisation_of(session, school),
            school.actors["finance"],
            component="SPP",
            amount=400_000,
            day_of_month=10,
            classes=["8A"],
        )

    await _run(jakarta(2027, 1, 29, 9))
    notice = _preview_to("en")
    with session_scope() as session:
        lines = render_notice(session, notice, "email").text.splitlines()

    assert "Students billed: 1" in lines
    assert "Total: Rp400.000" in lines
    assert "No student is skipped." in lines


async def test_preview_lead_days_preference(school: School) -> None:
    _add_spp(school, preferences={"recurring_fee_preview_days": 5})

    assert await _run(jakarta(2027, 1, 27, 8, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 1, 27, 9)) == {"previews": 2, "issued": 0}
    assert _preview_to("en").payload["run_date"] == "2027-02-01"


async def test_late_fee_previewed_before_run(school: School) -> None:
    """A fee added after the preview time still gets its full lead time before the run."""
    _add_spp(school)

    assert await _run(jakarta(2027, 1, 30, 10)) == {"previews": 2, "issued": 0}
    assert _preview_to("en").payload["run_date"] == "2027-02-02"
    assert [notice.payload["period"] for notice in _previews()] == ["2027-02", "2027-02"]
    assert await _run(jakarta(2027, 2, 1, 9)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 2, 9, 45)) == {"previews": 0, "issued": 0}
    assert _invoice_numbers() == []

    assert await _run(jakarta(2027, 2, 2, 10)) == {"previews": 0, "issued": 3}
    assert _invoice_numbers()[0] == "SPP-2027-02-1001"


async def test_mid_month_fee_bills_current_month(school: School) -> None:
    _add_spp(school)

    assert await _run(jakarta(2027, 1, 5, 9)) == {"previews": 2, "issued": 0}
    assert _preview_to("en", "2027-01").payload["run_date"] == "2027-01-08"
    assert await _run(jakarta(2027, 1, 8, 9)) == {"previews": 0, "issued": 3}
    assert _invoice_numbers()[0] == "SPP-2027-01-1001"


async def test_job_skips_past_due_month(school: School, caplog: pytest.LogCaptureFixture) -> None:
    """A run that starts after the month's due day (the worker was down) bills nothing."""
    _add_spp(school)
    assert await _run(jakarta(2027, 1, 29, 9)) == {"previews": 2, "issued": 0}

    assert await _run(jakarta(2027, 2, 11, 9)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 11, 9, 15)) == {"previews": 0, "issued": 0}
    assert _invoice_numbers() == []
    skips = [record for record in caplog.records if "skips 2027-02" in record.getMessage()]
    assert skips
    assert "2027-02-10" in skips[0].getMessage()

    assert await _run(jakarta(2027, 2, 26, 9)) == {"previews": 2, "issued": 0}
    assert await _run(jakarta(2027, 3, 1, 9)) == {"previews": 0, "issued": 3}
    assert _invoice_numbers()[0] == "SPP-2027-03-1001"


async def test_job_bills_month_on_due_day(school: School) -> None:
    _add_spp(school)
    await _run(jakarta(2027, 1, 29, 9))

    assert await _run(jakarta(2027, 2, 10, 23, 45)) == {"previews": 0, "issued": 0}
    assert await _run(jakarta(2027, 2, 10, 9)) == {"previews": 0, "issued": 3}


async def test_fee_after_due_day_not_previewed(school: School) -> None:
    """A fee added after this month's due day is previewed and billed from next month."""
    _add_spp(school, preferences={"recurring_fee_preview_days": 0})

    assert await _run(jakarta(2027, 1, 20, 9)) == {"previews": 0, "issued": 0}
    assert _previews() == []
    assert _invoice_numbers() == []
    assert await _run(jakarta(2027, 2, 1, 9)) == {"previews": 2, "issued": 3}
    assert _invoice_numbers()[0] == "SPP-2027-02-1001"


async def test_job_skips_past_month_without_finance(database: str) -> None:
    """A school without finance staff gets no preview, and its late run is still checked."""
    school = seed_school()
    with write() as session:
        for staff in session.exec(
            select(StaffUser).where(StaffUser.organisation_id == school.organisation_id)
        ).all():
            session.delete(staff)
    _add_spp(school)

    assert await _run(jakarta(2027, 2, 11, 9)) == {"previews": 0, "issued": 0}
    assert _invoice_numbers() == []


async def test_job_skips_invoice_organisations(database: str) -> None:
    from billing.orgs import create_organisation

    with write() as session:
        create_organisation(
            session,
            slug="toko-maju",
            kind="invoice",
            name="Toko Maju",
            company_code="8809",
            admin_phone="081200000009",
        )

    assert await _run(jakarta(2027, 1, 29, 9)) == {"previews": 0, "issued": 0}


# --- News photos ------------------------------------------------------------------------


def _image(image_format: str) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(output, format=image_format)
    return output.getvalue()


@pytest.mark.parametrize(
    ("image_format", "filename", "mime_type"),
    [
        ("PNG", "photo.png", "image/png"),
        ("JPEG", "photo.jpg", "image/jpeg"),
    ],
)
def test_news_photo_keeps_its_type(
    school: School, image_format: str, filename: str, mime_type: str
) -> None:
    content = NewsContent(title_id="Juara lomba", text_id="Selamat untuk kelas 7A.")
    with write() as session:
        organisation = organisation_of(session, school)
        post_news(
            session,
            organisation,
            school.actors["admin"],
            content=content,
            photo=_image(image_format),
        )
    with session_scope() as session:
        notice = session.exec(select(Notice).where(Notice.kind == NoticeKind.NEWS)).first()
        assert notice is not None
        email = render_notice(session, notice, "email")
        sms = render_notice(session, notice, "sms")

    assert [document.filename for document in email.attachments] == [filename]
    assert [document.mime_type for document in email.attachments] == [mime_type]
    assert sms.attachments == ()


def test_photo_type_of_other_images() -> None:
    assert photo_file_type(_image("GIF")) == ("photo.gif", "image/gif")
    assert photo_file_type(b"not an image") == ("photo", "application/octet-stream")
