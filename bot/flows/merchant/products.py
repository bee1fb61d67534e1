"""The product list of an invoice merchant, and adding a product in chat."""

from __future__ import annotations

import re

from sqlmodel import col, select

from billing.permissions import Action
from bot.core.callbacks import Op
from bot.core.menu import button, menu_step
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.flows.merchant.common import listing_step
from bot.replies import Text
from locales import format_rupiah, tr
from models import Product


async def list_products(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)
    products = turn.session.exec(
        select(Product)
        .where(Product.organisation_id == turn.org.id, Product.active)
        .order_by(col(Product.name))
    ).all()

    heading = tr(turn.language, "Products ({count}):", count=len(products))
    items = [
        f"{product.name} — {format_rupiah(product.price) if product.price is not None else '-'}"
        for product in products
    ]
    add = button(tr(turn.language, "Add a product"), Op.ADD_PRODUCT)
    return listing_step(turn, heading, items, add)


async def ask_product_name(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)

    return Step([Text(tr(turn.language, "Type the product name."))], State.AWAIT_PRODUCT_NAME)


def fold_name(name: str) -> str:
    return " ".join(name.split()).casefold()


async def take_product_name(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)
    name = " ".join(turn.inbound.text.split())[:200]
    exists = turn.session.exec(
        select(Product.id).where(
            Product.organisation_id == turn.org.id, Product.name_key == fold_name(name)
        )
    ).first()

    if exists is not None:
        text = tr(
            turn.language, "A product named {name} already exists. Type another name.", name=name
        )
        return Step([Text(text)], State.AWAIT_PRODUCT_NAME)
    text = tr(turn.language, "Type the price of {name} in rupiah, for example 150000.", name=name)
    return Step([Text(text)], State.AWAIT_PRODUCT_PRICE, {"name": name})


def parse_rupiah(text: str) -> int | None:
    """Read a whole-rupiah price typed in chat: 150000, 150.000, Rp 150.000."""
    cleaned = re.sub(r"(?i)^\s*(rp|idr)\.?\s*", "", text.strip())
    cleaned = re.sub(r"[.,]00$", "", cleaned)
    if not re.fullmatch(r"\d{1,3}([.,]\d{3})+|\d+", cleaned):
        return None
    return int(re.sub(r"[.,]", "", cleaned))


async def take_product_price(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)
    name = str(turn.data.get("name", ""))
    price = parse_rupiah(turn.inbound.text)

    if price is None or not name:
        text = tr(turn.language, "That is not a price. Type whole rupiah, for example 150000.")
        return Step([Text(text)], State.AWAIT_PRODUCT_PRICE, turn.data)
    turn.session.add(
        Product(organisation_id=turn.org.id or 0, name=name, name_key=fold_name(name), price=price)
    )
    intro = tr(
        turn.language, "Product {name} added at {price}.", name=name, price=format_rupiah(price)
    )
    return menu_step(turn, intro)
