"""The chat adapters as the notice sender uses them: deliver() against the fake APIs."""

from __future__ import annotations

import pytest

from bot.channels.base import Address, DeliveryError
from bot.channels.telegram import outbound_channel as telegram_channel
from bot.channels.whatsapp import outbound_channel as whatsapp_channel
from bot.replies import Document, OutboundMessage
from tagih.settings import Settings, get_settings
from tests.chat.conftest import telegram_env, whatsapp_env
from tests.chat.fakes import FakeBotAPI, FakeGraphAPI

NOTICE = OutboundMessage(
    text="Tagihan INV-001 dari Toko Maju: Rp150.000, VA 8808000000000001.",
    attachments=(
        Document("kwitansi INV-001.pdf", b"%PDF-1.4 test", "application/pdf", "Kwitansi"),
    ),
    whatsapp_template="invoice_issued",
    whatsapp_template_params=("Budi", "Toko Maju", "INV-001"),
    whatsapp_template_language="id",
)


async def test_telegram_deliver(bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    telegram_env(monkeypatch, bot_api)
    channel = telegram_channel(get_settings())
    assert channel is not None

    delivery = await channel.deliver(Address("telegram", "5001"), NOTICE)
    await channel.aclose()

    assert delivery.provider_message_id is not None
    assert bot_api.texts() == [NOTICE.text]
    assert bot_api.sent("sendDocument")[0].files["document"] == (
        "kwitansi INV-001.pdf",
        b"%PDF-1.4 test",
    )


async def test_telegram_deliver_flood_is_retryable(
    bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram_env(monkeypatch, bot_api)
    bot_api.flood.append(("sendMessage", 7))
    channel = telegram_channel(get_settings())
    assert channel is not None

    with pytest.raises(DeliveryError) as raised:
        await channel.deliver(Address("telegram", "5001"), NOTICE)
    await channel.aclose()

    assert raised.value.permanent is False
    assert raised.value.retry_after == 7


def test_channels_off_without_settings() -> None:
    settings = Settings(_env_file=None)

    assert telegram_channel(settings) is None
    assert whatsapp_channel(settings) is None


async def test_whatsapp_template_outside_window(
    graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp_env(monkeypatch, graph_api)
    channel = whatsapp_channel(get_settings())
    assert channel is not None

    delivery = await channel.deliver(
        Address("whatsapp", "+6281299990000", window_open=False), NOTICE
    )
    await channel.aclose()

    message = graph_api.messages()[0]
    assert delivery.provider_message_id == "wamid.OUT1"
    assert message["type"] == "template"
    assert message["template"]["name"] == "invoice_issued"
    assert message["template"]["language"]["code"] == "id"
    parameters = message["template"]["components"][0]["parameters"]
    assert [parameter["text"] for parameter in parameters] == ["Budi", "Toko Maju", "INV-001"]


async def test_whatsapp_text_inside_window(
    graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp_env(monkeypatch, graph_api)
    channel = whatsapp_channel(get_settings())
    assert channel is not None

    await channel.deliver(Address("whatsapp", "+6281299990000", window_open=True), NOTICE)
    await channel.aclose()

    kinds = [message["type"] for message in graph_api.messages()]
    assert kinds == ["text", "document"]
    assert graph_api.messages()[0]["to"] == "6281299990000"


async def test_whatsapp_rate_limit_is_retryable(
    graph_api: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    whatsapp_env(monkeypatch, graph_api)
    graph_api.rate_limited = 1
    channel = whatsapp_channel(get_settings())
    assert channel is not None

    with pytest.raises(DeliveryError) as raised:
        await channel.deliver(Address("whatsapp", "+6281299990000", window_open=True), NOTICE)
    await channel.aclose()

    assert raised.value.permanent is False
