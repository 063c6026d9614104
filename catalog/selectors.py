"""Reads from the catalog."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch

from catalog.models import Category, Merchant, Product, ProductImage, ProductQuerySet
from config.replicas import read_connection


def merchant_of_user(user: AbstractBaseUser | AnonymousUser) -> Merchant | None:
    """The merchant `user` works for, or None (shoppers, anonymous users, staff without one)."""
    membership = getattr(user, "merchant_membership", None) if user.is_authenticated else None
    return membership.merchant if membership else None


def product_images_shown():
    """Images a shopper may see: only those that passed the provenance guard."""
    return ProductImage.objects.filter(guard_status=ProductImage.GuardStatus.PASSED)


def products_searchable() -> ProductQuerySet:
    """THE strict-fidelity rule: the only products any shopper-facing page, search or API shows.

    A product qualifies when it is active, its merchant is published, and at least one of its
    images passed the provenance guard. Every search path starts from this queryset.
    """
    return Product.objects.filter(
        is_active=True,
        merchant__is_published=True,
    ).filter(Exists(product_images_shown().filter(product=OuterRef("pk"))))


def ids_sql(queryset) -> tuple[str, tuple]:
    """The SQL selecting `queryset`'s ids, and its parameters, for code written in SQL.

    The ordering is cleared: a compiled subquery keeps the model's default ordering, which
    turned the vector search into a 200 ms hash join over the whole catalog.
    """
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    return sql, tuple(params)


@functools.cache
def product_images_shown_sql() -> tuple[str, tuple]:
    """`ids_sql` of `product_images_shown()`, compiled once: it depends on the rule only."""
    return ids_sql(product_images_shown())


def _in_model_order(model, names: set[str]) -> tuple[str, ...]:
    # Model.from_db takes the values of a partial row in the model's field order.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


# What product cards, product pages and the API show. Reading and converting the other
# columns (the full-text document, timestamps) was a third of a search page's database time.
PRODUCT_SHOWN_COLUMNS = _in_model_order(
    Product,
    {
        "id",
        "merchant_id",
        "title",
        "slug",
        "sku",
        "description",
        "category_id",
        "price",
        "sale_price",
        "currency",
        "availability",
        "stock_quantity",
        "brand",
        "color",
        "size",
        "item_group_id",
        "is_active",
    },
)
IMAGE_SHOWN_COLUMNS = _in_model_order(
    ProductImage, {"id", "product_id", "file", "width", "height", "position"}
)


def products_with_images(products: ProductQuerySet) -> ProductQuerySet:
    """`products` with every image (passed or not) in order: what an upsert compares and the
    merchant API shows."""
    return products.prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
    )


def products_for_display(products: ProductQuerySet) -> ProductQuerySet:
    """`products` with what a product card or page shows: category and `shown_images`."""
    images = product_images_shown().only(*IMAGE_SHOWN_COLUMNS)
    return (
        products.only(*PRODUCT_SHOWN_COLUMNS, "category__slug", "category__name")
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=images, to_attr="shown_images"))
    )


_DISPLAY_SQL = """
SELECT {product_columns}, category.slug, category.name
FROM catalog_product AS product
LEFT JOIN catalog_category AS category ON category.id = product.category_id
WHERE product.id = ANY(%s);
SELECT {image_columns} FROM catalog_productimage
WHERE product_id = ANY(%s) AND id IN ({shown_images})
ORDER BY position, id
"""


def products_displayed(product_ids: Sequence[int]) -> dict[int, Product]:
    """{id: product} as `products_for_display` gives them, for a page of search results.

    The same columns in one round trip of two statements: for a page of 24 products the
    ORM's querysets, prefetch and model building took 2.8 ms, this 1.2 ms (bench/search.py).
    """
    shown_images, params = product_images_shown_sql()
    sql = _DISPLAY_SQL.format(
        product_columns=", ".join(f"product.{column}" for column in PRODUCT_SHOWN_COLUMNS),
        image_columns=", ".join(IMAGE_SHOWN_COLUMNS),
        shown_images=shown_images,
    )
    ids = list(product_ids)
    with read_connection().cursor() as cursor:
        cursor.execute(sql, [ids, ids, *params])
        product_rows = cursor.fetchall()
        cursor.nextset()
        image_rows = cursor.fetchall()
    products = {}
    width = len(PRODUCT_SHOWN_COLUMNS)
    for row in product_rows:
        product = Product.from_db(cursor.db.alias, PRODUCT_SHOWN_COLUMNS, row[:width])
        slug, name = row[width:]
        category_id = product.category_id
        product.category = (
            None if category_id is None else Category(id=category_id, slug=slug, name=name)
        )
        product.shown_images = []
        products[product.pk] = product
    for row in image_rows:
        image = ProductImage.from_db(cursor.db.alias, IMAGE_SHOWN_COLUMNS, row)
        products[image.product_id].shown_images.append(image)
    return products


def products_for_storefront() -> ProductQuerySet:
    """Searchable products with their category and shown images, newest first."""
    return products_for_display(products_searchable()).order_by("-created_at", "-id")
