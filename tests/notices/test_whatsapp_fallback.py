"""WhatsApp through the real adapter and a fake Graph API: templates, the window, fallback."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import select

from bot.channels.base import Address, Delivery, DeliveryError
from bot.replies import OutboundMessage
from jobs.channels import ChannelRegistry, build_registry
from jobs.sender import Sender
from models import Notice, NoticeStatus
from models.db import session_scope
from models.types import utcnow
from tests.fakes.graph_api import FakeGraphAPI
from tests.notices.helpers import (
    FakeClock,
    FakeSmsGateway,
    issue_bill,
    link_chat,
    make_school,
    notice_attempts,
)

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
TEMPLATE_PAUSED = {
    "error": {
        "message": "(#132015) Template is paused",
        "type": "OAuthException",
        "code": 132015,
        "error_data": {"messaging_product": "whatsapp", "details": "Template is paused"},
        "fbtrace_id": "AbCdEf",
    }
}


@pytest.fixture
def graph(settings_env) -> Iterator[FakeGraphAPI]:  # type: ignore[no-untyped-def]
    with FakeGraphAPI("test-token", "1234567890") as fake:
        fake.template_error = TEMPLATE_PAUSED
        settings_env(
            whatsapp_token=fake.token,
            whatsapp_phone_id=fake.phone_id,
            whatsapp_api_base_url=fake.url,
        )
        yield fake


async def _sender(gateway: FakeSmsGateway) -> Sender:
    pytest.importorskip("bot.channels.whatsapp")
    registry = build_registry()
    assert registry.get("whatsapp") is not None, "WhatsApp settings build the adapter"
    registry.register(gateway.channel())
    clock = FakeClock()
    return Sender(registry, clock=clock, sleep=clock.sleep)


async def test_rejected_template_falls_back_to_sms(database: str, graph: FakeGraphAPI) -> None:
    school = make_school()
    issue_bill(school, parent=1, student=2, number="SPP-E", due=DUE)
    gateway = FakeSmsGateway()
    sender = await _sender(gateway)
    result = await sender.send_due()
    await sender.registry.aclose()

    assert result["fallback"] == 1
    assert result["sent"] == 1
    rejected = [call.params for call in graph.calls if call.method == "messages:rejected"]
    assert len(graph.calls) == 1
    assert len(rejected) == 1
    template = rejected[0]
    assert template["type"] == "template"
    assert template["to"] == "6281200000022"
    assert template["template"]["name"] == "tagih_invoice_issued"
    assert template["template"]["language"]["code"] == "id"
    assert notice_attempts() == [("whatsapp", "failed"), ("sms", "sent")]
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
    assert notice.status == NoticeStatus.SENT
    assert notice.channel == "sms"
    assert len(gateway.accepted) == 1
    body = next(iter(gateway.accepted.values()))
    assert "SPP-E" in body["text"]


async def test_open_window_sends_free_text(database: str, graph: FakeGraphAPI) -> None:
    school = make_school()
    link_chat(
        "+6281200000022",
        "whatsapp",
        "6281200000022",
        last_inbound_at=utcnow() - dt.timedelta(hours=2),
    )
    issue_bill(school, parent=1, student=2, number="SPP-E", due=DUE)
    gateway = FakeSmsGateway()
    sender = await _sender(gateway)
    result = await sender.send_due()
    await sender.registry.aclose()

    assert result["sent"] == 1
    assert [message["type"] for message in graph.messages()] == ["text"]
    assert "SPP-E" in graph.texts()[0]
    assert notice_attempts() == [("whatsapp", "sent")]
    assert gateway.accepted == {}


class GraphTemplateChannel:
    """A minimal WhatsApp adapter over httpx.MockTransport with the Graph API's rules.

    It checks the sender's side independently of bot.channels.whatsapp: outside the
    24-hour window it sends the template, and a rejected template is a permanent error.
    """

    name = "whatsapp"

    def __init__(self) -> None:
        self.requests: list[dict] = []
        transport = httpx.MockTransport(self._graph)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9")

    def _graph(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if body["type"] == "template":
            return httpx.Response(400, json=TEMPLATE_PAUSED)
        return httpx.Response(200, json={"messages": [{"id": "wamid.1"}]})

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        if address.window_open:
            body = {"type": "text", "to": address.value, "text": {"body": message.text}}
        else:
            body = {
                "type": "template",
                "to": address.value,
                "template": {
                    "name": message.whatsapp_template,
                    "language": {"code": message.whatsapp_template_language},
                    "parameters": list(message.whatsapp_template_params),
                },
            }
        response = await self.client.post("/v21.0/1234567890/messages", json=body)
        if response.status_code >= 400:
            code = response.json()["error"]["code"]
            raise DeliveryError(f"WhatsApp rejected the message: code {code}", permanent=True)
        return Delivery(provider_message_id=response.json()["messages"][0]["id"])


async def test_closed_window_template_rejected_uses_sms(database: str) -> None:
    school = make_school()
    issue_bill(school, parent=1, student=2, number="SPP-E", due=DUE)
    whatsapp = GraphTemplateChannel()
    gateway = FakeSmsGateway()
    clock = FakeClock()
    sender = Sender(ChannelRegistry([whatsapp, gateway.channel()]), clock=clock, sleep=clock.sleep)
    result = await sender.send_due()

    assert result["fallback"] == 1
    assert result["sent"] == 1
    assert [request["type"] for request in whatsapp.requests] == ["template"]
    template = whatsapp.requests[0]["template"]
    assert template["name"] == "tagih_invoice_issued"
    assert template["language"] == {"code": "id"}
    assert template["parameters"][0] == "Budi"
    assert template["parameters"][2] == "SPP-E"
    assert notice_attempts() == [("whatsapp", "failed"), ("sms", "sent")]
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
    assert notice.last_error is None
    assert len(gateway.accepted) == 1
