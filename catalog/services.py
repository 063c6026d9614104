"""Writes to the catalog. Every way in (admin, API, bulk import) goes through these functions."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from catalog.images import inspect_image
from catalog.models import (
    Category,
    Merchant,
    MerchantMembership,
    Product,
    ProductImage,
    product_image_path,
)
from catalog.signals import product_images_added

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
]


def merchant_add_user(*, merchant: Merchant, user: User) -> MerchantMembership:
    """Make `user` a member of `merchant`, able to manage its own products in the admin."""
    membership = MerchantMembership.objects.create(user=user, merchant=merchant)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    group, created = Group.objects.get_or_create(name="Merchants")
    if created or not group.permissions.exists():
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="catalog", codename__in=MERCHANT_PERMISSIONS
            )
        )
    user.groups.add(group)
    return membership


def category_get_or_create(*, slug: str, name: str | None = None) -> Category:
    category, _ = Category.objects.get_or_create(
        slug=slugify(slug), defaults={"name": name or slug.replace("-", " ").title()}
    )
    return category


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


def product_image_create(*, product: Product, data: bytes, position: int = 0) -> ProductImage:
    """Check `data` and attach it to `product`.

    Raises ValidationError (with a code) before anything is written. The embedding job is
    announced only once the row is committed, so a worker never sees a half-written image.
    """
    inspected = inspect_image(data)
    image = ProductImage(
        product=product,
        sha256=inspected.sha256,
        width=inspected.width,
        height=inspected.height,
        position=position,
    )
    storage = image.file.storage
    name = product_image_path(image, f"upload.{inspected.extension}")
    wrote_file = not storage.exists(name)  # content-addressed: the same bytes share one file
    if wrote_file:
        name = storage.save(name, ContentFile(data))
    image.file.name = name
    try:
        with transaction.atomic():
            image.save()
    except Exception:
        if wrote_file:
            storage.delete(name)
        raise
    transaction.on_commit(lambda: product_images_announce(image_ids=[image.pk]))
    return image


def product_images_announce(*, image_ids: list[int]) -> None:
    """Tell subscribers (the indexer) that these images were committed."""
    product_images_added.send(sender=ProductImage, image_ids=image_ids)


@transaction.atomic
def product_create_with_image(*, merchant: Merchant, data: bytes, **product_fields) -> Product:
    """One product with one image, all or nothing (used by the bulk import).

    A refused image raises inside this transaction, so its product row is rolled back too.
    """
    product = product_create(merchant=merchant, **product_fields)
    product_image_create(product=product, data=data)
    return product
