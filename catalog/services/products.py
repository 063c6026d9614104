"""Writes about products."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.feeds.errors import RowError
from catalog.feeds.fetching import SourceError, image_source_read
from catalog.feeds.items import ParsedItem
from catalog.models import PRODUCT_SKU_UNIQUE, Category, Merchant, Product, ProductImage
from catalog.services.images import product_image_admit, product_image_create
from catalog.services.merchants import category_get_or_create
from catalog.signals import product_images_removed

ImageReader = Callable[[str], bytes]  # an image source (URL or path) to its bytes


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


@dataclass
class Upsert:
    """What an upsert did (or, in a dry run, would do) to one product."""

    sku: str
    action: str  # "created", "updated", "unchanged", or "failed"
    product: Product | None = None
    changed: list[str] = field(default_factory=list)  # the fields (and "images") it changed
    errors: list[RowError] = field(default_factory=list)


def _product_slug(merchant: Merchant, title: str, sku: str) -> str:
    """The title and the SKU: unique per shop in one query however many products share a title
    (a loop over "-2", "-3" ... took a query per namesake)."""
    slug = f"{slugify(title)[:150]}-{slugify(sku)[:40]}".strip("-") or "product"
    if Product.objects.filter(merchant=merchant, slug=slug).exists():
        return _unique_product_slug(merchant, slug)
    return slug


def _changed_fields(product: Product | None, fields: dict) -> list[str]:
    if product is None:
        return sorted(fields)
    return sorted(name for name, value in fields.items() if getattr(product, name) != value)


def _images_changed(product: Product | None, sources: list[str] | None) -> bool:
    if sources is None:
        return False
    if product is None:
        return True
    return [image.source for image in product.images.all()] != sources


def product_images_admit(
    *, merchant: Merchant, item: ParsedItem, product: Product | None, read: ImageReader
) -> dict[str, tuple[bytes, tuple]]:
    """Read and check each image an upsert of `item` will store (those `product` does not hold
    yet), before anything is written; {} when the item changes no images. Never writes, so a
    caller may run it ahead, in another session. Raises ValidationError (refused or
    unreadable), with the failing source named."""
    if item.errors or not _images_changed(product, item.images):
        return {}
    held = {image.source for image in product.images.all()} if product else set()
    admitted = {}
    for source in item.images or []:
        if source in held:
            continue
        try:
            data = read(source)
        except SourceError as err:
            raise ValidationError(err.message, code=err.code, params={"source": source}) from None
        try:
            admitted[source] = (data, product_image_admit(data=data, merchant=merchant))
        except ValidationError as err:
            raise ValidationError(
                f"{source[:100]}: {' '.join(err.messages)}",
                code=getattr(err, "code", None) or "invalid_image",
                params={"source": source},
            ) from None
    return admitted


def _images_replace(product: Product, sources: list[str], admitted: dict, *, new: bool) -> None:
    """Make the product's images exactly `sources`, in that order. An image whose bytes the
    product already holds under another source keeps its row (and its vector). A `new` product
    holds none yet: no query for them."""
    held = {} if new else {image.source: image for image in product.images.all()}
    unnamed = {image.sha256: image for s, image in held.items() if s not in sources}
    for position, source in enumerate(sources):
        image = held.get(source)
        if image is None and source in admitted:
            image = unnamed.pop(admitted[source][1][0].sha256, None)
        if image is not None:
            if (image.source, image.position) != (source, position):
                ProductImage.objects.filter(pk=image.pk).update(source=source, position=position)
            continue
        data, checked = admitted[source]
        product_image_create(
            product=product, data=data, position=position, admitted=checked, source=source
        )
    for image in unnamed.values():
        image.delete()
    if unnamed:
        product_images_removed.send(sender=ProductImage, product_ids={product.pk})


def product_upsert(
    *,
    merchant: Merchant,
    item: ParsedItem,
    existing: Product | None = None,
    read_image: ImageReader | None = None,
    dry_run: bool = False,
    admitted_ahead: Future[dict] | None = None,
    looked_up: bool = False,
) -> Upsert:
    """Create or update the merchant's product `item.sku` with what the item sends.

    Attributes the item does not send stay as they are; its images, when it names any, become
    the product's images in that order (new ones read, checked by the guard and stored; those
    it no longer names removed). An item that changes nothing writes nothing. A price or stock
    change is a plain row update: no image is read and nothing is embedded again. Any refusal
    leaves the product as it was. `existing`: the product, already looked up (with its images
    prefetched) by a caller that handles many (`looked_up`: None then means it has none), and
    `admitted_ahead` what `product_images_admit` gave for it and that product.
    """
    if item.errors:
        return Upsert(item.sku, "failed", errors=item.errors)
    product = existing
    if product is None and not looked_up:
        product = Product.objects.filter(merchant=merchant, sku=item.sku).first()
    fields = dict(item.fields)
    category_name = item.category_name
    changed = _changed_fields(product, fields)
    if category_name and (
        product is None or product.category is None or product.category.name != category_name
    ):
        changed.append("category")
    if _images_changed(product, item.images):
        changed.append("images")
    action = "created" if product is None else "updated" if changed else "unchanged"
    sale_error = product_sale_price_error(product, fields)
    if sale_error:
        return Upsert(item.sku, "failed", product, errors=[sale_error])
    if action == "unchanged" or dry_run:
        return Upsert(item.sku, action, product, changed)
    try:
        if admitted_ahead is not None:
            admitted = admitted_ahead.result()
        else:
            admitted = product_images_admit(
                merchant=merchant, item=item, product=product, read=read_image or image_source_read
            )
        with transaction.atomic():
            if category_name:
                fields["category"] = category_get_or_create(slug=category_name, name=category_name)
            if product is None:
                product = Product(merchant=merchant, sku=item.sku, **fields)
                product.slug = _product_slug(merchant, product.title, item.sku)
                product.save()
            else:
                for name, value in fields.items():
                    setattr(product, name, value)
                product.save(update_fields=[*fields, "updated_at"])
            if "images" in changed:
                _images_replace(product, item.images, admitted, new=action == "created")
    except IntegrityError as err:
        # Another import or request created this SKU since it was looked up: nothing of this
        # row was written (the unique (merchant, sku) constraint refused it).
        diag = getattr(err.__cause__, "diag", None)  # psycopg's account of the failure
        if diag is None or diag.constraint_name != PRODUCT_SKU_UNIQUE:
            raise
        message = f"id {item.sku} was created by another import at the same time: run it again."
        return Upsert(item.sku, "failed", existing, errors=[RowError(0, "id", message, "conflict")])
    except ValidationError as err:
        field_name = "image_link" if err.params and "source" in err.params else ""
        error = RowError(
            row=0, field=field_name, message=" ".join(err.messages), code=err.code or "invalid"
        )
        return Upsert(item.sku, "failed", existing, errors=[error])
    return Upsert(item.sku, action, product, changed)


def product_sale_price_error(product: Product | None, fields: dict) -> RowError | None:
    """A sale price stays at or below the price, whichever of the two this item changes."""
    price = fields.get("price", product.price if product else None)
    sale = fields.get("sale_price", product.sale_price if product else None)
    if price is not None and sale is not None and sale > price:
        return RowError(
            0, "sale_price", f"sale_price {sale} is above the price {price}.", "invalid"
        )
    return None


# What a price or stock update changes: plain columns that search reads as they are, so
# nothing is fetched, checked by the guard or embedded again.
FAST_COLUMNS = ["price", "currency", "sale_price", "stock_quantity", "availability"]
FAST_FIELDS = frozenset(FAST_COLUMNS)


def product_fast_change(*, product: Product, item: ParsedItem) -> Upsert | None:
    """The fast path of an item for an existing product: None unless it changes only price
    and stock fields (FAST_FIELDS, no images). Otherwise the outcome, with the new values set on
    `product` when it is "updated"; `products_fast_update` then writes them with others."""
    if item.errors or item.images is not None or not set(item.fields) <= FAST_FIELDS:
        return None
    error = product_sale_price_error(product, item.fields)
    if error:
        return Upsert(item.sku, "failed", product, errors=[error])
    changed = _changed_fields(product, item.fields)
    if not changed:
        return Upsert(item.sku, "unchanged", product)
    for name in changed:
        setattr(product, name, item.fields[name])
    return Upsert(item.sku, "updated", product, changed)


# One statement for the whole batch: Django's bulk_update builds a CASE per field and row, and
# spent 6.0 of 6.5 s of a 1,000-item request resolving those expressions (cProfile).
_FAST_UPDATE_SQL = """
UPDATE catalog_product AS p
SET price = u.price, currency = u.currency, sale_price = u.sale_price,
    stock_quantity = u.stock_quantity, availability = u.availability, updated_at = %s
FROM unnest(%s::bigint[], %s::numeric[], %s::text[], %s::numeric[], %s::int[], %s::text[])
    AS u(id, price, currency, sale_price, stock_quantity, availability)
WHERE p.id = u.id
"""


def products_fast_update(*, products: list[Product]) -> None:
    """Write the price and stock fields of `products` (already set on them) in one statement:
    what makes 1,000 updates a second possible. The database's constraints still hold each
    row (a sale price above the price is refused, and the whole batch with it)."""
    now = timezone.now()
    columns = [[p.pk for p in products]]
    columns += [[getattr(p, name) for p in products] for name in FAST_COLUMNS]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FAST_UPDATE_SQL, [now, *columns])
    for product in products:
        product.updated_at = now
