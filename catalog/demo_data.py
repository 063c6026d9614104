"""Deterministic demo product fields from a photo's file name (same name, same product)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

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
