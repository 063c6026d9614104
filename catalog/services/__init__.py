"""Writes to the catalog, one module per entity: every way in (admin, API, feeds) uses them."""

from catalog.services.feeds import FeedReport, feed_import, feed_import_run, feed_import_submit
from catalog.services.images import (
    generated_image_refusal,
    guard_reason,
    product_image_admit,
    product_image_backfill_guard,
    product_image_create,
    product_image_quarantine,
    product_image_release,
    product_images_announce,
)
from catalog.services.merchants import (
    MERCHANT_PERMISSIONS,
    category_get_or_create,
    merchant_add_user,
    merchant_create,
)
from catalog.services.products import (
    Upsert,
    product_create,
    product_create_with_image,
    product_upsert,
)
from catalog.services.registry import (
    catalog_recheck_against,
    catalog_recheck_defer,
    generated_image_refingerprint,
    generated_image_register,
)

__all__ = [
    "MERCHANT_PERMISSIONS",
    "FeedReport",
    "Upsert",
    "catalog_recheck_against",
    "catalog_recheck_defer",
    "category_get_or_create",
    "feed_import",
    "feed_import_run",
    "feed_import_submit",
    "generated_image_refingerprint",
    "generated_image_refusal",
    "generated_image_register",
    "guard_reason",
    "merchant_add_user",
    "merchant_create",
    "product_create",
    "product_create_with_image",
    "product_image_admit",
    "product_image_backfill_guard",
    "product_image_create",
    "product_image_quarantine",
    "product_image_release",
    "product_images_announce",
    "product_upsert",
]
