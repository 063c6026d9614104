"""Facet counts over a whole match set (not just the page shown), counted in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Count, Q

from catalog.models import Product

# (label, low inclusive, high exclusive); None = open-ended.
PRICE_BANDS: list[tuple[str, Decimal | None, Decimal | None]] = [
    ("under 25", None, Decimal(25)),
    ("25 to 50", Decimal(25), Decimal(50)),
    ("50 to 100", Decimal(50), Decimal(100)),
    ("100 to 200", Decimal(100), Decimal(200)),
    ("200 and over", Decimal(200), None),
]


def _band(low: Decimal | None, high: Decimal | None) -> Q:
    condition = Q()
    if low is not None:
        condition &= Q(price__gte=low)
    if high is not None:
        condition &= Q(price__lt=high)
    return condition


def facet_counts(product_ids: Sequence[int]) -> dict:
    """Category and price-band counts of `product_ids`, in one grouped query."""
    rows = (
        Product.objects.filter(pk__any=product_ids)
        .order_by()
        .values("category__slug", "category__name")
        .annotate(
            count=Count("pk"),
            **{
                f"band{i}": Count("pk", filter=_band(low, high))
                for i, (_, low, high) in enumerate(PRICE_BANDS)
            },
        )
    )
    rows = list(rows)
    categories = sorted(
        (row for row in rows if row["category__slug"] is not None),
        key=lambda row: (-row["count"], row["category__slug"]),
    )
    return {
        "categories": [
            {"slug": row["category__slug"], "name": row["category__name"], "count": row["count"]}
            for row in categories
        ],
        "price_bands": [
            {
                "label": label,
                "min": None if low is None else str(low),
                "max": None if high is None else str(high),
                "count": sum(row[f"band{i}"] for row in rows),
            }
            for i, (label, low, high) in enumerate(PRICE_BANDS)
        ],
    }
