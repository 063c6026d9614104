"""Writes about shops: merchants, their users, categories."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils.text import slugify

from catalog.models import Category, Merchant, MerchantMembership

User = get_user_model()


def merchant_create(*, name: str, slug: str | None = None) -> Merchant:
    return Merchant.objects.create(name=name, slug=slug or slugify(name))


# What a merchant's staff may do in the admin; the admin itself scopes rows to their merchant.
MERCHANT_PERMISSIONS = [
    "view_product",
    "add_product",
    "change_product",
    "delete_product",
    "view_productimage",
    "add_productimage",
    "change_productimage",
    "delete_productimage",
    "view_category",
    "view_feedimport",
    "add_feedimport",
    "view_synonym",
    "add_synonym",
    "change_synonym",
    "delete_synonym",
    "view_merchandisingrule",
    "add_merchandisingrule",
    "change_merchandisingrule",
    "delete_merchandisingrule",
    "view_searchevent",
    "view_searchsettings",
    "change_searchsettings",
]
MERCHANT_PERMISSION_APPS = ["catalog", "retrieval", "analytics"]


def merchant_add_user(*, merchant: Merchant, user: User) -> MerchantMembership:
    """Make `user` a member of `merchant`, able to manage its own products in the admin."""
    membership = MerchantMembership.objects.create(user=user, merchant=merchant)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    group, _ = Group.objects.get_or_create(name="Merchants")
    # Added, never set: permissions a new release grants reach existing groups, and any an
    # administrator granted on top stay.
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=MERCHANT_PERMISSION_APPS,
            codename__in=MERCHANT_PERMISSIONS,
        )
    )
    user.groups.add(group)
    return membership


def category_get_or_create(*, slug: str, name: str | None = None) -> Category:
    category, _ = Category.objects.get_or_create(
        slug=slugify(slug), defaults={"name": name or slug.replace("-", " ").title()}
    )
    return category
