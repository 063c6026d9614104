"""One product's attributes, as a feed row or an API item sends them (Google Merchant Center
names), checked and turned into Product fields. Feeds and the merchant API share this."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import pycountry
from stdnum import ean

from catalog.feeds.errors import RowError
from catalog.models import Availability, Condition

# Merchant Center's own limits where it has one; the column's otherwise.
MAX_LENGTHS = {
    "id": 50,
    "title": 150,
    "description": 5000,
    "link": 2000,
    "brand": 70,
    "color": 100,
    "size": 100,
    "material": 200,
    "item_group_id": 50,
    "product_type": 750,
}
MAX_IMAGES = 11  # image_link and up to 10 additional_image_link
MAX_PRICE = Decimal("99999999.99")  # what the price column holds
TEXT_FIELDS = {  # feed attribute -> Product field
    "title": "title",
    "description": "description",
    "brand": "brand",
    "color": "color",
    "size": "size",
    "material": "material",
    "item_group_id": "item_group_id",
    "product_type": "product_type",
}
_PRICE = re.compile(r"^\s*(?:([A-Za-z]{3})\s*)?(\d+(?:\.\d{1,2})?)\s*(?:([A-Za-z]{3}))?\s*$")


@dataclass
class ParsedItem:
    sku: str
    fields: dict  # Product field -> value, only those the item sent
    images: list[str] | None  # image sources in order; None: the item named none
    errors: list[RowError]

    @property
    def category_name(self) -> str | None:
        """The last step of the shop's own category path ("Apparel > Dresses": Dresses)."""
        path = self.fields.get("product_type") or ""
        return path.split(">")[-1].strip() or None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise ValueError("must be text")


def _price(text: str) -> tuple[Decimal, str]:
    match = _PRICE.match(text)
    if not match or (match.group(1) and match.group(3)):
        raise ValueError(f'"{text[:40]}" is not a price: write it as "12.90 EUR"')
    currency = (match.group(1) or match.group(3) or "").upper()
    if not currency:
        raise ValueError(f'"{text[:40]}" has no currency: write it as "12.90 EUR"')
    if pycountry.currencies.get(alpha_3=currency) is None:
        raise ValueError(f"{currency} is not an ISO 4217 currency code (EUR, USD, GBP ...)")
    try:
        amount = Decimal(match.group(2))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f'"{text[:40]}" is not a price') from None
    if amount > MAX_PRICE:
        raise ValueError(f"{amount} is over the largest price, {MAX_PRICE}")
    return amount, currency


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f'"{text[:80]}" is not an http(s) URL')
    return text


def _image_sources(values: dict) -> list[str] | None:
    first = _text(values.get("image_link"))
    more = values.get("additional_image_link")
    if isinstance(more, list):
        extra = [_text(v) for v in more]
    else:
        extra = [part.strip() for part in _text(more).split(",")]
    sources = [s for s in [first, *extra] if s]
    if not sources:
        return None
    if len(sources) > MAX_IMAGES:
        raise ValueError(f"{len(sources)} images: a product takes at most {MAX_IMAGES}")
    return list(dict.fromkeys(sources))  # the same image named twice is one image


def _availability(text: str) -> str:
    value = text.lower().replace(" ", "_")
    if value not in Availability.values:
        raise ValueError(f'"{text[:40]}" is not one of {", ".join(Availability.values)}')
    return value


def _condition(text: str) -> str:
    value = text.lower()
    if value not in Condition.values:
        raise ValueError(f'"{text[:40]}" is not one of {", ".join(Condition.values)}')
    return value


def _quantity(value: object) -> int:
    text = _text(value)
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise ValueError(f'"{text[:40]}" is not a whole number')
    if int(text) < 0:
        raise ValueError(f"the stock cannot be negative ({text})")
    return int(text)


def _gtin(text: str) -> str:
    digits = re.sub(r"[\s-]", "", text)
    if not ean.is_valid(digits) or len(digits) not in (8, 12, 13, 14):
        raise ValueError(f'"{text[:40]}" is not a GTIN (8, 12, 13 or 14 digits, check digit last)')
    return digits


def item_parse(values: dict, *, row: int = 0, partial: bool = False) -> ParsedItem:
    """Check one item's attributes. `partial`: only the attributes it sends are changed (an API
    PATCH); otherwise `id`, `title` and `price` are required and the others default."""
    errors: list[RowError] = []
    fields: dict = {}

    def fail(field: str, message: str, code: str = "invalid") -> None:
        errors.append(RowError(row=row, field=field, message=message, code=code))

    def given(name: str) -> bool:
        return name in values and _text_or_none(values[name]) not in (None, "")

    for name, limit in MAX_LENGTHS.items():
        if name in values:
            try:
                text = _text(values[name])
            except ValueError:
                fail(name, f"{name} must be text, not {type(values[name]).__name__}.")
                continue
            if len(text) > limit:
                fail(name, f"{name} is {len(text)} characters long; at most {limit}.", "too_long")

    sku = _text_or_none(values.get("id")) or ""
    if (not partial or "id" in values) and not sku:
        fail("id", "id is required: the product's own SKU, unique in the shop.", "required")
    for name in ("title", "price"):
        if not partial and not given(name):
            fail(name, f"{name} is required.", "required")
    if errors:
        return ParsedItem(sku=sku, fields={}, images=None, errors=errors)

    for name, field in TEXT_FIELDS.items():
        if name in values:
            fields[field] = _text(values[name])
    if "link" in values:
        try:
            fields["link"] = _url(_text(values["link"])) if given("link") else ""
        except ValueError as err:
            fail("link", f"{err}.")
    parsers = {
        "availability": ("availability", _availability),
        "condition": ("condition", _condition),
        "gtin": ("gtin", _gtin),
    }
    for name, (field, parse) in parsers.items():
        if given(name):
            try:
                fields[field] = parse(_text(values[name]))
            except ValueError as err:
                fail(name, f"{err}.")
        elif name in values and name == "gtin":
            fields["gtin"] = ""
    if given("quantity"):
        try:
            fields["stock_quantity"] = _quantity(values["quantity"])
        except ValueError as err:
            fail("quantity", f"{err}.", "negative" if "negative" in str(err) else "invalid")
    if given("price"):
        try:
            fields["price"], fields["currency"] = _price(_text(values["price"]))
        except ValueError as err:
            fail("price", f"{err}.")
    if "sale_price" in values:
        fields["sale_price"] = None
        if given("sale_price"):
            try:
                amount, currency = _price(_text(values["sale_price"]))
                fields["sale_price"] = amount
                if fields.get("currency", currency) != currency:
                    fail("sale_price", f"sale_price is in {currency}, the price in another.")
                elif "price" in fields and amount > fields["price"]:
                    fail("sale_price", f"sale_price {amount} is above the price {fields['price']}.")
            except ValueError as err:
                fail("sale_price", f"{err}.")
    images = None
    try:
        images = _image_sources(values)
    except ValueError as err:
        fail("image_link", f"{err}.")
    _stock_agrees(fields, fail)
    return ParsedItem(sku=sku, fields=fields, images=images, errors=errors)


def _text_or_none(value: object) -> str | None:
    try:
        return _text(value)
    except ValueError:
        return None


def _stock_agrees(fields: dict, fail) -> None:
    """A stock count sets the availability unless the item says otherwise; the two may not
    contradict each other."""
    quantity = fields.get("stock_quantity")
    if quantity is None:
        if fields.get("availability") == Availability.OUT_OF_STOCK:
            fields["stock_quantity"] = 0
        return
    availability = fields.get("availability")
    if availability is None:
        fields["availability"] = Availability.IN_STOCK if quantity else Availability.OUT_OF_STOCK
    elif availability == Availability.IN_STOCK and quantity == 0:
        fail("quantity", "quantity is 0 but availability says in_stock.", "contradiction")
    elif availability == Availability.OUT_OF_STOCK and quantity > 0:
        fail(
            "quantity",
            f"quantity is {quantity} but availability says out_of_stock.",
            "contradiction",
        )
