"""The customer list of an invoice merchant, and adding a customer in chat."""

from __future__ import annotations

from sqlmodel import col, select

from billing.contacts import EMAIL_PATTERN, email_key
from billing.permissions import Action
from billing.phones import normalise_phone
from bot.core.callbacks import Op
from bot.core.menu import button, menu_step
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.flows.merchant.common import listing_step
from bot.replies import Text
from locales import tr
from models import Customer


async def list_customers(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)
    query = (
        select(Customer)
        .where(Customer.organisation_id == turn.org.id)
        .order_by(col(Customer.name))
    )
    customers = turn.session.exec(query).all()

    heading = tr(turn.language, "Customers ({count}):", count=len(customers))
    items = [
        f"{customer.name} — {customer.phone or customer.email or '-'}" for customer in customers
    ]
    add = button(tr(turn.language, "Add a customer"), Op.ADD_CUSTOMER)
    return listing_step(turn, heading, items, add)


async def ask_customer_name(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)

    return Step([Text(tr(turn.language, "Type the customer's name."))], State.AWAIT_CUSTOMER_NAME)


async def take_customer_name(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)
    name = " ".join(turn.inbound.text.split())[:200]

    text = tr(turn.language, "Type the phone number or e-mail address of {name}.", name=name)
    return Step([Text(text)], State.AWAIT_CUSTOMER_CONTACT, {"name": name})


async def take_customer_contact(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)
    text = turn.inbound.text.strip()
    name = str(turn.data.get("name", ""))
    phone = normalise_phone(text)
    email = email_key(text) if phone is None else None
    if email is not None and not EMAIL_PATTERN.fullmatch(email):
        email = None

    if phone is None and email is None:
        reply = tr(
            turn.language,
            "{value} is neither a mobile number nor an e-mail address. "
            "Type it like 0812xxxxxxx or nama@contoh.co.id.",
            value=text,
        )
        return Step([Text(reply)], State.AWAIT_CUSTOMER_CONTACT, turn.data)
    if _customer_exists(turn, phone, email):
        reply = tr(turn.language, "A customer with {value} already exists.", value=phone or email)
        return menu_step(turn, reply)
    turn.session.add(
        Customer(organisation_id=turn.org.id or 0, name=name, phone=phone, email=email)
    )
    return menu_step(turn, tr(turn.language, "Customer {name} added.", name=name))


def _customer_exists(turn: Turn, phone: str | None, email: str | None) -> bool:
    query = select(Customer.id).where(Customer.organisation_id == turn.org.id)
    query = query.where(Customer.phone == phone) if phone else query.where(Customer.email == email)
    return turn.session.exec(query).first() is not None
