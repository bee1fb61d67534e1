"""The receipt (kwitansi) PDF of a paid invoice, in Indonesian or English."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlmodel import Session, select

from billing.errors import NotFound
from billing.payments import receipt_number
from billing.va import format_va
from locales import format_datetime, format_rupiah, normalise_language, tr
from models import Customer, Invoice, InvoiceLine, Organisation, Payment, VirtualAccount

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
# DejaVu Sans covers Latin, Greek, Cyrillic, Arabic and more, so payer names print as typed.
FONT = "DejaVu"


def _pdf() -> FPDF:
    pdf = FPDF(unit="mm", format=(148, 210))  # A5
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font(FONT, "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    return pdf


def printable(pdf: FPDF, text: str) -> str:
    """Replace the characters the font has no glyph for (CJK, for one) with "?"."""
    cmap = pdf.fonts[FONT.lower()].cmap
    return "".join(ch if ord(ch) in cmap or ch in "\n\t" else "?" for ch in text)


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(FONT, "", 9)
    pdf.cell(38, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.multi_cell(0, 6, printable(pdf, value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _lines_table(pdf: FPDF, lines: list[InvoiceLine], language: str) -> None:
    widths = (62, 12, 25, 25)
    headers = (
        tr(language, "Item"),
        tr(language, "Qty"),
        tr(language, "Unit price"),
        tr(language, "Amount"),
    )
    pdf.set_font(FONT, "B", 8)
    for width, header in zip(widths, headers, strict=True):
        pdf.cell(width, 6, header, border="B", align="L" if width == widths[0] else "R")
    pdf.ln()
    pdf.set_font(FONT, "", 8)
    for line in lines:
        pdf.cell(widths[0], 6, printable(pdf, line.description[:60]))
        pdf.cell(widths[1], 6, str(line.quantity), align="R")
        pdf.cell(widths[2], 6, format_rupiah(line.unit_price), align="R")
        pdf.cell(widths[3], 6, format_rupiah(line.amount), align="R")
        pdf.ln()


def render_receipt_pdf(session: Session, invoice_id: int, language: str | None) -> bytes:
    """Render the receipt of a paid invoice as PDF bytes.

    Raises NotFound when the invoice does not exist or has no payment yet.
    """
    language = normalise_language(language)
    invoice = session.get(Invoice, invoice_id)
    payment = session.exec(
        select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id)
    ).first()
    if invoice is None or payment is None:
        raise NotFound(
            "receipt.not_paid",
            "There is no receipt for this bill because no payment was recorded for it.",
        )
    organisation = session.get(Organisation, invoice.organisation_id)
    customer = session.get(Customer, invoice.customer_id)
    account = session.get(VirtualAccount, payment.virtual_account_id)
    lines = session.exec(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id == invoice_id)
        .order_by(InvoiceLine.position)
    ).all()
    assert organisation is not None
    assert customer is not None
    assert account is not None

    pdf = _pdf()
    try:
        pdf.set_title(tr(language, "Receipt {number}", number=receipt_number(payment)))
        pdf.set_font(FONT, "B", 14)
        pdf.multi_cell(
            0, 8, printable(pdf, organisation.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_font(FONT, "B", 12)
        pdf.cell(0, 8, tr(language, "RECEIPT"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        _row(pdf, tr(language, "Receipt number"), receipt_number(payment))
        _row(pdf, tr(language, "Received from"), customer.name)
        _row(pdf, tr(language, "Bill number"), invoice.number)
        if invoice.description:
            _row(pdf, tr(language, "For"), invoice.description)
        pdf.ln(2)
        _lines_table(pdf, list(lines), language)
        pdf.ln(2)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(99, 7, tr(language, "Amount paid"))
        pdf.cell(
            25, 7, format_rupiah(payment.amount), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(2)
        _row(pdf, tr(language, "Virtual Account"), format_va(account.number))
        _row(
            pdf, tr(language, "Bank reference"), payment.reference_no or payment.payment_request_id
        )
        _row(
            pdf,
            tr(language, "Paid at"),
            format_datetime(payment.paid_at, language, organisation.timezone),
        )
        pdf.ln(4)
        pdf.set_font(FONT, "", 7)
        pdf.multi_cell(
            0,
            4,
            tr(
                language,
                "This receipt was issued electronically and is valid without a signature.",
            ),
        )
        return bytes(pdf.output())
    finally:
        _close_fonts(pdf)


def _close_fonts(pdf: FPDF) -> None:
    """Close the font files fpdf2 opened lazily; it never closes them itself (fpdf2 2.8.9)."""
    for font in pdf.fonts.values():
        ttfont = getattr(font, "ttfont", None)
        if ttfont is not None:
            ttfont.close()
