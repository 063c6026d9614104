"""Shopper filters, applied on top of the strict-fidelity rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import ProductQuerySet
from catalog.selectors import products_searchable


@dataclass(frozen=True)
class SearchFilters:
    categories: tuple[str, ...] = field(default_factory=tuple)  # category slugs
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    # Never a shopper parameter: the studio uses it to find a merchant's own source product.
    merchant_id: int | None = None

    def products(self) -> ProductQuerySet:
        """Searchable products (the strict-fidelity rule) that pass these filters."""
        products = products_searchable()
        if self.categories:
            products = products.filter(category__slug__in=self.categories)
        if self.price_min is not None:
            products = products.filter(price__gte=self.price_min)
        if self.price_max is not None:
            products = products.filter(price__lte=self.price_max)
        if self.in_stock:
            products = products.filter(stock_quantity__gt=0)
        if self.merchant_id is not None:
            products = products.filter(merchant_id=self.merchant_id)
        return products
