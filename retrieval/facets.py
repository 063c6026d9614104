"""Facet counts over a whole match set (not just the page shown)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from catalog.models import Product

# (label, low inclusive, high exclusive); None = open-ended.
PRICE_BANDS: list[tuple[str, Decimal | None, Decimal | None]] = [
    ("under 25", None, Decimal(25)),
    ("25 to 50", Decimal(25), Decimal(50)),
    ("50 to 100", Decimal(50), Decimal(100)),
    ("100 to 200", Decimal(100), Decimal(200)),
    ("200 and over", Decimal(200), None),
]


def facet_counts(product_ids: Sequence[int]) -> dict:
    rows = Product.objects.filter(pk__in=product_ids).values_list(
        "category__slug", "category__name", "price"
    )
    categories: Counter = Counter()
    names: dict[str, str] = {}
    bands: Counter = Counter()
    for slug, name, price in rows:
        if slug:
            categories[slug] += 1
            names[slug] = name
        for label, low, high in PRICE_BANDS:
            if (low is None or price >= low) and (high is None or price < high):
                bands[label] += 1
    return {
        "categories": [
            {"slug": slug, "name": names[slug], "count": count}
            for slug, count in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "price_bands": [
            {
                "label": label,
                "min": None if low is None else str(low),
                "max": None if high is None else str(high),
                "count": bands[label],
            }
            for label, low, high in PRICE_BANDS
        ],
    }
