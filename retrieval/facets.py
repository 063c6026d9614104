"""Facet counts over a whole match set (not just the page shown), counted in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from config.replicas import read_connection

# (label, low inclusive, high exclusive); None = open-ended.
PRICE_BANDS: list[tuple[str, Decimal | None, Decimal | None]] = [
    ("under 25", None, Decimal(25)),
    ("25 to 50", Decimal(25), Decimal(50)),
    ("50 to 100", Decimal(50), Decimal(100)),
    ("100 to 200", Decimal(100), Decimal(200)),
    ("200 and over", Decimal(200), None),
]


def _band_condition(low: Decimal | None, high: Decimal | None) -> tuple[str, list[Decimal]]:
    conditions, params = [], []
    if low is not None:
        conditions.append("product.price >= %s")
        params.append(low)
    if high is not None:
        conditions.append("product.price < %s")
        params.append(high)
    return " AND ".join(conditions), params


def _facets_sql() -> tuple[str, list[Decimal]]:
    bands = [_band_condition(low, high) for _, low, high in PRICE_BANDS]
    counts = ", ".join(f"count(*) FILTER (WHERE {condition})" for condition, _ in bands)
    # SQL, not the ORM: building and compiling five filtered counts took as long as counting.
    sql = (
        f"SELECT category.slug, category.name, count(*), {counts} "
        "FROM catalog_product AS product "
        "LEFT JOIN catalog_category AS category ON category.id = product.category_id "
        "WHERE product.id = ANY(%s) GROUP BY category.slug, category.name"
    )
    return sql, [param for _, params in bands for param in params]


def facet_counts(product_ids: Sequence[int]) -> dict:
    """Category and price-band counts of `product_ids`, in one grouped query."""
    sql, band_params = _facets_sql()
    with read_connection().cursor() as cursor:
        cursor.execute(sql, [*band_params, list(product_ids)])
        rows = cursor.fetchall()
    categories = sorted((row for row in rows if row[0] is not None), key=lambda r: (-r[2], r[0]))
    return {
        "categories": [
            {"slug": slug, "name": name, "count": count} for slug, name, count, *_ in categories
        ],
        "price_bands": [
            {
                "label": label,
                "min": None if low is None else str(low),
                "max": None if high is None else str(high),
                "count": sum(row[3 + i] for row in rows),
            }
            for i, (label, low, high) in enumerate(PRICE_BANDS)
        ],
    }
