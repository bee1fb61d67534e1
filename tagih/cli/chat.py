"""`tagih chat`: talk to the bot from a terminal as the person with a given phone number."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from billing.phones import normalise_phone


@click.command("chat")
@click.option("--as", "phone", required=True, help="Phone number of the person to chat as.")
@click.option(
    "--lang",
    "language",
    type=click.Choice(["id", "en"]),
    default=None,
    help="Language of the replies (default: the person's registered language).",
)
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/chat"),
    show_default=True,
    help="Folder where files the bot sends are saved.",
)
def chat(phone: str, language: str | None, save_dir: Path) -> None:
    """Chat on the console: type messages, /upload PATH to send a file, /quit to stop.

    A number presses a button of the bot's latest message; where that step also takes typed
    text, #N presses button N. Numbers with a leading zero are always text. Reads lines from
    standard input until end of input or /quit.
    """
    from bot.channels.console import ConsoleChannel, ConsoleSession

    number = normalise_phone(phone)
    if number is None:
        click.echo(
            f"Error: {phone} is not a valid mobile number; write it as 0812xxxxxxx.", err=True
        )
        sys.exit(2)
    session = ConsoleSession(number, ConsoleChannel(download_dir=save_dir), language)
    asyncio.run(_loop(session))


async def _loop(session) -> None:  # type: ignore[no-untyped-def]
    prompt = sys.stdin.isatty()
    while True:
        if prompt:
            click.echo("> ", nl=False)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() == "/quit":
            return
        if line.strip():
            await session.send(line)


COMMANDS = [chat]
