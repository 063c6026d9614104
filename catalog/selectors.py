"""Reads from the catalog."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch

from catalog.models import Merchant, Product, ProductImage, ProductQuerySet


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


# What product cards, product pages and the API show. Reading and converting the other
# columns (the full-text document, timestamps) was a third of a search page's database time.
PRODUCT_SHOWN_FIELDS = (
    "merchant_id",
    "title",
    "slug",
    "sku",
    "description",
    "category__slug",
    "category__name",
    "price",
    "currency",
    "stock_quantity",
    "is_active",
)


def products_for_display(products: ProductQuerySet) -> ProductQuerySet:
    """`products` with what a product card or page shows: category and `shown_images`.

    Leaves out the columns no page shows (the full-text document, timestamps, the images'
    fingerprints).
    """
    images = product_images_shown().only("product_id", "file", "width", "height", "position")
    return (
        products.only(*PRODUCT_SHOWN_FIELDS)
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=images, to_attr="shown_images"))
    )


def products_for_storefront() -> ProductQuerySet:
    """Searchable products with their category and shown images, newest first."""
    return products_for_display(products_searchable()).order_by("-created_at", "-id")
