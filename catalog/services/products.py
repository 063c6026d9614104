"""Writes about products."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.text import slugify

from catalog.models import Category, Merchant, Product
from catalog.services.images import product_image_admit, product_image_create


def _unique_product_slug(merchant: Merchant, title: str) -> str:
    base = slugify(title)[:180] or "product"
    slug, n = base, 1
    while Product.objects.filter(merchant=merchant, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def product_create(
    *,
    merchant: Merchant,
    title: str,
    price: Decimal,
    currency: str = "EUR",
    sku: str = "",
    description: str = "",
    category: Category | None = None,
    stock_quantity: int = 0,
    is_active: bool = True,
) -> Product:
    return Product.objects.create(
        merchant=merchant,
        title=title,
        slug=_unique_product_slug(merchant, title),
        sku=sku,
        description=description,
        category=category,
        price=price,
        currency=currency,
        stock_quantity=stock_quantity,
        is_active=is_active,
    )


@transaction.atomic
def product_create_with_image(*, merchant: Merchant, data: bytes, **product_fields) -> Product:
    """One product with one image, all or nothing (used by the bulk import).

    The image is checked before the product row is written: a refused image writes nothing,
    and the guard may share its lookups with a second session (catalog.concurrent_reads),
    which it does only while this transaction has written nothing.
    """
    admitted = product_image_admit(data=data, merchant=merchant)
    product = product_create(merchant=merchant, **product_fields)
    product_image_create(product=product, data=data, admitted=admitted)
    return product
