"""manage.py import_catalog FOLDER: one product per photo, category from the folder name."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.demo_data import demo_category_name, demo_product_fields
from catalog.models import Merchant, Product, ProductImage
from catalog.services import (
    category_get_or_create,
    merchant_create,
    product_create_with_image,
    product_image_create,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


class Command(BaseCommand):
    help = (
        "Import every photo under FOLDER as a product (category = the photo's folder name). "
        "Idempotent: a photo already imported for the merchant (same sha256) is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--merchant", default="demo", help="merchant slug (created if missing)")
        parser.add_argument("--limit", type=int, help="import at most this many photos")

    def handle(self, *args, folder: Path, merchant: str, limit: int | None, **options):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder: give the folder that holds the photos.")
        photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if limit is not None:
            photos = photos[:limit]
        if not photos:
            raise CommandError(f"No .jpg, .png or .webp files under {folder}.")
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            shop = merchant_create(name=merchant.replace("-", " ").title(), slug=merchant)
        known = set(
            ProductImage.objects.filter(product__merchant=shop).values_list("sha256", flat=True)
        )
        # A product whose image was deleted (in the admin) gets it back: its SKU comes from the
        # file name, so a new product would collide with it.
        by_sku = dict(
            Product.objects.filter(merchant=shop).exclude(sku="").values_list("sku", "pk")
        )
        imported, present, restored, failures = 0, 0, 0, []
        for photo in tqdm(photos, desc="Importing", unit="photo", file=self.stderr._out):
            try:
                data = photo.read_bytes()
            except OSError as err:
                failures.append((photo, f"cannot read the file ({err.strerror})"))
                continue
            sha256 = hashlib.sha256(data).hexdigest()
            if sha256 in known:
                present += 1
                continue
            category_slug = photo.parent.name if photo.parent != folder else "uncategorized"
            fields = demo_product_fields(photo, category_slug)
            if fields["sku"] in by_sku:
                try:
                    product = Product.objects.get(pk=by_sku[fields["sku"]])
                    product_image_create(product=product, data=data)
                except ValidationError as err:
                    failures.append((photo, " ".join(err.messages)))
                    continue
                known.add(sha256)
                restored += 1
                continue
            try:
                product_create_with_image(
                    merchant=shop,
                    data=data,
                    category=category_get_or_create(
                        slug=category_slug, name=demo_category_name(category_slug)
                    ),
                    **fields,
                )
            except ValidationError as err:
                failures.append((photo, " ".join(err.messages)))
                continue
            known.add(sha256)
            imported += 1
        for photo, reason in failures:
            self.stderr.write(f"skipped {photo}: {reason}")
        self.stdout.write(
            f"{imported} imported, {present} already in the catalog, {restored} images restored, "
            f"{len(failures)} skipped "
            f"(merchant {shop.slug})."
        )
