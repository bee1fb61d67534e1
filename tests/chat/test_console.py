"""The console channel: `tagih chat`, button numbers, uploads, saved files and notices."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import select

from bot.channels.base import Address
from bot.channels.console import ConsoleChannel, ConsoleSession, safe_filename
from bot.core import error_replies, handle_inbound
from bot.replies import Button, Document, OutboundMessage, Text
from models import Invoice, LinkCode
from models.db import session_scope
from tagih.cli.main import cli
from tests.chat.conftest import ADMIN, ALICE, BUDI, RINA_EMAIL, STRANGER, World


def test_deliver_prints_notice(tmp_path: Path) -> None:
    stream = io.StringIO()
    channel = ConsoleChannel(stream, download_dir=tmp_path)
    message = OutboundMessage(
        text="Tagihan INV-001: Rp150.000",
        subject="Tagihan baru",
        attachments=(Document("kwitansi INV 001 ü.pdf", b"%PDF-1.4", "application/pdf"),),
        buttons=(Button("Bayar", "{}"),),
    )

    delivery = asyncio.run(channel.deliver(Address("console", "+6281299990000"), message))

    printed = stream.getvalue()
    assert delivery.provider_message_id and delivery.provider_message_id.startswith("console-")
    assert "--- to +6281299990000 ---" in printed
    assert "Tagihan baru\nTagihan INV-001: Rp150.000" in printed
    assert "  1) Bayar" in printed
    assert (tmp_path / "kwitansi INV 001 ü.pdf").read_bytes() == b"%PDF-1.4"


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "_.._etc_passwd"
    assert safe_filename("tagihan Januari ü.xlsx") == "tagihan Januari ü.xlsx"
    assert safe_filename("") == "file"


def test_chat_command_my_bills(world: World, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["chat", "--as", "081299990000", "--save-dir", str(tmp_path)], input="halo\n1\n"
    )

    assert result.exit_code == 0, result.output
    assert "Toko Maju (pelanggan): apa yang ingin Anda lakukan?" in result.output
    assert "  1) Tagihan saya" in result.output
    assert "Total tagihan: Rp900.000 (3 tagihan)" in result.output


def test_chat_command_english_receipt(world: World, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["chat", "--as", "0812-9999-0000", "--lang", "en", "--save-dir", str(tmp_path)],
        input="receipt INV-PAID-1\n",
    )

    assert result.exit_code == 0, result.output
    assert "Receipt for invoice INV-PAID-1." in result.output
    saved = tmp_path / "kwitansi-INV-PAID-1.pdf"
    assert f"[file saved: {saved}]" in result.output
    assert saved.read_bytes().startswith(b"%PDF")


def test_chat_command_upload(world: World, tmp_path: Path, samples_dir: Path) -> None:
    sheet = tmp_path / "tagihan Januari.xlsx"
    sheet.write_bytes((samples_dir / "01_baseline_valid.xlsx").read_bytes())
    lines = f"/upload {sheet}\n1\n"

    result = CliRunner().invoke(
        cli, ["chat", "--as", ADMIN, "--save-dir", str(tmp_path)], input=lines
    )

    assert result.exit_code == 0, result.output
    assert "Sheet sudah dicek: 5 invoice siap, total Rp4.635.000" in result.output
    assert "  1) Kirim semua" in result.output
    assert "Selesai: 5 invoice diterbitkan." in result.output
    with session_scope() as session:
        assert session.exec(select(Invoice).where(Invoice.number == "INV-2031-005")).first()


def test_chat_command_invalid_phone() -> None:
    result = CliRunner().invoke(cli, ["chat", "--as", "12"])

    assert result.exit_code == 2
    assert "12 is not a valid mobile number" in result.output


def test_console_stranger(world: World, tmp_path: Path) -> None:
    stream = io.StringIO()
    session = ConsoleSession(STRANGER, ConsoleChannel(stream, download_dir=tmp_path))

    asyncio.run(session.send("halo"))

    assert "Chat ini belum terdaftar" in stream.getvalue()
    assert "1) Saya daftar via e-mail" in stream.getvalue()


def test_console_number_beyond_buttons_is_text(world: World, tmp_path: Path) -> None:
    stream = io.StringIO()
    session = ConsoleSession(BUDI, ConsoleChannel(stream, download_dir=tmp_path))
    asyncio.run(session.send("menu"))

    asyncio.run(session.send("42"))

    assert "Maaf, saya tidak mengerti." in stream.getvalue()


def test_upload_missing_file_in_english(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "sheets"
    folder.mkdir()
    lines = f"/upload {tmp_path / 'missing.xlsx'}\n/upload {folder}\n"

    result = CliRunner().invoke(
        cli,
        ["chat", "--as", ADMIN, "--lang", "en", "--save-dir", str(tmp_path)],
        input=lines,
    )

    assert result.exit_code == 0, result.output
    assert f"File {tmp_path / 'missing.xlsx'} not found." in result.output
    assert f"File {folder} not found." in result.output
    assert "Traceback" not in result.output
    assert "Something went wrong" not in result.output


def test_error_language_is_person_language(world: World, tmp_path: Path) -> None:
    # Alice is registered in English and the console sends no language hint, so a failure
    # later in her turn must be answered in English, not in the default Indonesian.
    session = ConsoleSession(ALICE, ConsoleChannel(io.StringIO(), download_dir=tmp_path))
    inbound = session.inbound("halo")
    assert inbound.language is None

    asyncio.run(handle_inbound(inbound))

    assert inbound.language == "en"
    assert error_replies(RuntimeError("boom"), "tag", inbound.language) == [
        Text("Something went wrong on our side. Please try again in a few minutes.")
    ]


def _console(phone: str, tmp_path: Path) -> tuple[ConsoleSession, io.StringIO]:
    stream = io.StringIO()
    return ConsoleSession(phone, ConsoleChannel(stream, download_dir=tmp_path)), stream


def _number_of(session: ConsoleSession, title: str) -> str:
    titles = [item.title for item in session.offered]
    assert title in titles, f"no button {title!r} in {titles}"
    return str(titles.index(title) + 1)


def _last_output(stream: io.StringIO, before: int) -> str:
    return stream.getvalue()[before:]


def test_console_number_of_older_message_is_text(world: World, tmp_path: Path) -> None:
    session, stream = _console(ADMIN, tmp_path)
    asyncio.run(session.send("menu"))
    asyncio.run(session.send(_number_of(session, "Cek invoice")))
    assert session.offered == []

    before = len(stream.getvalue())
    asyncio.run(session.send("1"))

    assert "Invoice 1 tidak ditemukan" in _last_output(stream, before)


def test_console_leading_zero_is_text(world: World, tmp_path: Path) -> None:
    session, stream = _console(BUDI, tmp_path)
    asyncio.run(session.send("menu"))

    before = len(stream.getvalue())
    asyncio.run(session.send("01"))

    assert "Maaf, saya tidak mengerti." in _last_output(stream, before)
    assert "Total tagihan" not in _last_output(stream, before)


def test_console_number_is_text_where_typed(world: World, tmp_path: Path) -> None:
    session, stream = _console(ADMIN, tmp_path)
    outputs = []
    for typed in ("1", "#1"):
        asyncio.run(session.send("menu"))
        asyncio.run(session.send(_number_of(session, "Unduh laporan")))
        assert len(session.offered) == 3
        before = len(stream.getvalue())
        asyncio.run(session.send(typed))
        outputs.append(_last_output(stream, before))

    assert "Tanggal itu tidak terbaca." in outputs[0]
    assert "[file saved: " in outputs[1]


def test_console_link_code_is_no_button(sqlite_world: World, tmp_path: Path) -> None:
    session, stream = _console(STRANGER, tmp_path)
    asyncio.run(session.send("halo"))
    asyncio.run(session.send("1"))
    asyncio.run(session.send(RINA_EMAIL))

    before = len(stream.getvalue())
    asyncio.run(session.send("000001"))

    reply = _last_output(stream, before)
    with session_scope() as database:
        link = database.exec(select(LinkCode)).one()
    assert "Ketik alamat e-mail" not in reply
    assert link.attempts == 1 or link.used_at is not None


def test_console_earlier_buttons_unnumbered(world: World, tmp_path: Path) -> None:
    channel = ConsoleChannel(io.StringIO(), download_dir=tmp_path)
    replies = [Text("first", (Button("Old", "{}"),)), Text("second", (Button("New", "{}"),))]

    offered = channel.show(replies)

    printed = channel.stream.getvalue()
    assert "  - Old" in printed
    assert "  1) New" in printed
    assert [item.title for item in offered] == ["New"]
