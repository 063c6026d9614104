"""Deterministic demo product fields from a photo's file name (same name, same product)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from catalog.feeds.reading import KNOWN_COLUMNS

COLOURS = ["Black", "White", "Navy", "Olive", "Burgundy", "Sand", "Grey", "Forest", "Rust", "Sky"]
STYLES = ["Classic", "Relaxed", "Slim", "Everyday", "Vintage", "Urban", "Soft", "Summer", "Studio"]
NOUNS = {
    "dress": "Dress",
    "hat": "Hat",
    "longsleeve": "Long-Sleeve Top",
    "outwear": "Jacket",
    "pants": "Trousers",
    "shirt": "Shirt",
    "shoes": "Sneakers",
    "shorts": "Shorts",
    "skirt": "Skirt",
    "t-shirt": "T-Shirt",
}

CATEGORY_NAMES = {
    "dress": "Dresses",
    "hat": "Hats",
    "longsleeve": "Long Sleeves",
    "outwear": "Outerwear",
    "pants": "Trousers",
    "shirt": "Shirts",
    "shoes": "Shoes",
    "shorts": "Shorts",
    "skirt": "Skirts",
    "t-shirt": "T-Shirts",
}


def demo_category_name(folder_name: str) -> str:
    return CATEGORY_NAMES.get(folder_name, folder_name.replace("-", " ").replace("_", " ").title())


def demo_product_fields(photo: Path, category_slug: str) -> dict:
    digest = hashlib.sha256(photo.stem.encode()).digest()
    colour = COLOURS[digest[0] % len(COLOURS)]
    style = STYLES[digest[1] % len(STYLES)]
    noun = NOUNS.get(category_slug, category_slug.replace("-", " ").title())
    title = f"{style} {colour} {noun}"
    sku = f"FD-{photo.stem[:8].upper()}"
    return {
        "title": title,
        "sku": sku,
        "description": f"{title} in {colour.lower()}, {style.lower()} fit. SKU {sku}.",
        "price": Decimal(9 + digest[2] % 140) + Decimal("0.90"),
        "currency": "EUR",
        # About one product in ten is out of stock, so the in-stock filter has work to do.
        "stock_quantity": 0 if digest[3] < 26 else 1 + digest[3] % 40,
    }


BRANDS = ["Northwind", "Alder & Co", "Fjellstad", "Maris", "Oakline", "Tessel", "Brightwater"]
MATERIALS = {
    "dress": "Viscose",
    "hat": "Wool felt",
    "longsleeve": "Cotton jersey",
    "outwear": "Recycled polyester",
    "pants": "Cotton twill",
    "shirt": "Poplin cotton",
    "shoes": "Leather",
    "shorts": "Linen blend",
    "skirt": "Cotton",
    "t-shirt": "Organic cotton",
}
CLOTHING_SIZES = ["XS", "S", "M", "L", "XL"]
SHOE_SIZES = [str(n) for n in range(37, 46)]
# Every VARIANT_EVERY-th photo of a category opens a group with the next one: two colours of
# one item, as shops list variants.
VARIANT_EVERY = 8
DEMO_LINK = "https://demo-outfitters.example/products/"
# Every Merchant Center column the reader knows but additional images (one photo a product).
FEED_COLUMNS = [column for column in KNOWN_COLUMNS if column != "additional_image_link"]


def _gtin13(digest: bytes) -> str:
    from stdnum import ean

    body = "40" + "".join(str(b % 10) for b in digest[4:14])  # a GS1 prefix and 10 digits
    return body + ean.calc_check_digit(body)


def demo_feed_row(photo: Path, category_slug: str, *, image_link: str, group: str = "") -> dict:
    """One feed row (Merchant Center names) for a demo photo: the same photo, the same row."""
    fields = demo_product_fields(photo, category_slug)
    digest = hashlib.sha256(photo.stem.encode()).digest()
    brand = BRANDS[digest[5] % len(BRANDS)]
    sizes = SHOE_SIZES if category_slug == "shoes" else CLOTHING_SIZES
    size = "One size" if category_slug == "hat" else sizes[digest[6] % len(sizes)]
    price = fields["price"]
    on_sale = digest[7] % 8 == 0  # one product in eight is on sale
    quantity = fields["stock_quantity"]
    return {
        "id": fields["sku"],
        "title": f"{brand} {fields['title']}",
        "description": fields["description"],
        "link": DEMO_LINK + fields["sku"].lower(),
        "image_link": image_link,
        "price": f"{price:.2f} {fields['currency']}",
        "sale_price": f"{price * 8 // 10:.2f} {fields['currency']}" if on_sale else "",
        "availability": "in_stock" if quantity else "out_of_stock",
        "quantity": str(quantity),
        "brand": brand,
        "color": fields["title"].split()[1],
        "size": size,
        "material": MATERIALS.get(category_slug, ""),
        "gtin": _gtin13(digest),
        "condition": "new",
        "item_group_id": group,
        "product_type": f"Apparel > {demo_category_name(category_slug)}",
    }


def demo_feed_rows(folder: Path, photos: list[Path]) -> list[dict]:
    """Feed rows for photos under `folder` (category = the photo's folder), with a few variant
    groups; image links are relative to `folder`."""
    rows, seen_in_category = [], {}
    for photo in photos:
        category = photo.parent.name if photo.parent != folder else "uncategorized"
        n = seen_in_category[category] = seen_in_category.get(category, -1) + 1
        group = ""
        if n % VARIANT_EVERY in (0, 1):
            group = f"FDG-{category.upper()}-{n // VARIANT_EVERY + 1}"
        link = photo.relative_to(folder).as_posix()
        row = demo_feed_row(photo, category, image_link=link, group=group)
        if n % VARIANT_EVERY == 1:  # the same item as the row before, in its own colour
            first = rows[-1]
            title = first["title"].replace(first["color"], row["color"])
            row |= {"title": title, "brand": first["brand"], "price": first["price"]}
            row["sale_price"] = first["sale_price"]
            colour, first_colour = row["color"].lower(), first["color"].lower()
            row["description"] = first["description"].replace(first_colour, colour)
            row["description"] = row["description"].replace(first["id"], row["id"])
            row["description"] = row["description"].replace(first["color"], row["color"])
        rows.append(row)
    return rows
