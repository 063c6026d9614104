"""Reads from the catalog."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from catalog.models import Merchant, Product, ProductQuerySet


def merchant_of_user(user: AbstractBaseUser | AnonymousUser) -> Merchant | None:
    """The merchant `user` works for, or None (shoppers, anonymous users, staff without one)."""
    membership = getattr(user, "merchant_membership", None) if user.is_authenticated else None
    return membership.merchant if membership else None


def products_for_storefront() -> ProductQuerySet:
    """Active products that have at least one image, as the storefront lists them."""
    return (
        Product.objects.filter(is_active=True, images__isnull=False)
        .distinct()
        .select_related("category")
        .prefetch_related("images")
        .order_by("-created_at", "-id")
    )
