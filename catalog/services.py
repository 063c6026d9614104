"""Writes to the catalog. Every way in (admin, API, bulk import) goes through these functions."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import slugify

from catalog import fingerprints
from catalog.guard import GuardMatch, GuardVerdict, catalog_images_matching, image_guard_check
from catalog.images import InspectedImage, inspect_image
from catalog.models import (
    Category,
    GeneratedImage,
    GuardRelease,
    Merchant,
    MerchantMembership,
    Product,
    ProductImage,
    ProductImageKeypoint,
    RegistryKeypoint,
    generated_image_path,
    product_image_path,
)
from catalog.signals import catalog_visibility_changed, product_images_added

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


def _inspect_and_guard(data: bytes) -> tuple[InspectedImage, GuardVerdict]:
    inspected = inspect_image(data)
    verdict = image_guard_check(data=data, image=inspected.image, sha256=inspected.sha256)
    return inspected, verdict


def product_image_admit(
    *, data: bytes, merchant: Merchant | None
) -> tuple[InspectedImage, GuardVerdict]:
    """Every check an image passes before it may enter the catalog; raises ValidationError.

    `merchant` is the shop it is for: a refusal names the registry entry only to its owner.
    """
    inspected, verdict = _inspect_and_guard(data)
    if verdict.match:
        raise generated_image_refusal(verdict.match, merchant=merchant)
    return inspected, verdict


def _keypoints_store(image: ProductImage, verdict: GuardVerdict) -> None:
    ProductImageKeypoint.objects.bulk_create(
        ProductImageKeypoint(image=image, descriptor=bits) for bits in verdict.keypoints
    )


def product_image_create(
    *,
    product: Product,
    data: bytes,
    position: int = 0,
    admitted: tuple[InspectedImage, GuardVerdict] | None = None,
) -> ProductImage:
    """Check `data` and attach it to `product`.

    Raises ValidationError (with a code) before anything is written: a bad image, or one the
    provenance guard refuses. `admitted`: what `product_image_admit` returned for these same
    bytes moments ago (the admin form checks on validation, to show errors on the field), so
    the guard does not run twice. The embedding job is announced only once the row is
    committed, so a worker never sees a half-written image.
    """
    if admitted is None or admitted[0].sha256 != hashlib.sha256(data).hexdigest():
        admitted = product_image_admit(data=data, merchant=product.merchant)
    inspected, verdict = admitted
    image = ProductImage(
        product=product,
        sha256=inspected.sha256,
        width=inspected.width,
        height=inspected.height,
        position=position,
        pdq=verdict.pdq,
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
            _keypoints_store(image, verdict)
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

    The image is checked before the product row is written: a refused image writes nothing,
    and the guard may share its lookups with a second session (catalog.concurrent_reads),
    which it does only while this transaction has written nothing.
    """
    admitted = product_image_admit(data=data, merchant=merchant)
    product = product_create(merchant=merchant, **product_fields)
    product_image_create(product=product, data=data, admitted=admitted)
    return product


def _owns_entry(match: GuardMatch, merchant_id: int) -> bool:
    return bool(
        match.entry_id
        and GeneratedImage.objects.filter(pk=match.entry_id, merchant_id=merchant_id).exists()
    )


def guard_reason(match: GuardMatch, *, owner: bool) -> str:
    """Why the guard matched, as the merchant may read it: another merchant's registry entry
    (its number, the distance, the signal's detail) is never named."""
    if owner or match.entry_id is None:
        return match.describe()
    return "it matches an image in the registry of generated images"


def generated_image_refusal(match: GuardMatch, *, merchant: Merchant) -> ValidationError:
    """The 4xx for a refused image: the registry entry is named only to the merchant who owns it."""
    owner = _owns_entry(match, merchant.pk)
    reason = guard_reason(match, owner=owner)
    return ValidationError(
        f"This image cannot be a catalog product: {reason}. Generated images are concepts, "
        "never products; upload a photo of the real item.",
        code="generated_image",
        params={"entry": match.entry_id if owner else None, "signal": match.signal},
    )


def generated_image_register(
    *,
    merchant: Merchant,
    data: bytes,
    prompt: str,
    seed: int,
    model_identity: str,
    negative_prompt: str = "",
    source_image: ProductImage | None = None,
    fidelity: float | None = None,
) -> GeneratedImage:
    """Enter a generated image in the provenance registry, then store its bytes.

    Registration comes before release: the registry row (with its hashes and keypoints) is
    committed first, and only then do the bytes get a name in storage. A crash in between
    leaves a registered hash and no file, never a file the guard does not know.
    Call it outside a transaction (the durable block says so if not).
    """
    inspected = inspect_image(data)
    prints = fingerprints.fingerprint(inspected.image)
    with transaction.atomic(durable=True):
        entry = GeneratedImage(
            merchant=merchant,
            prompt=prompt,
            negative_prompt=negative_prompt,
            seed=seed,
            model_identity=model_identity,
            source_image=source_image,
            fidelity=fidelity,
            sha256=inspected.sha256,
            width=inspected.width,
            height=inspected.height,
        )
        _registry_prints_store(entry, prints)
    name = entry.file.storage.save(
        generated_image_path(entry, f"image.{inspected.extension}"), ContentFile(data)
    )
    GeneratedImage.objects.filter(pk=entry.pk).update(file=name)
    entry.file.name = name
    catalog_recheck_defer(entry=entry)
    return entry


def _registry_prints_store(entry: GeneratedImage, prints: fingerprints.Fingerprint) -> None:
    """Save the entry with its hash, features and indexed keypoints."""
    entry.pdq, entry.pdq_trimmed = prints.pdq, prints.pdq_trimmed
    entry.features = prints.features_blob()
    entry.save()
    upright = prints.upright
    RegistryKeypoint.objects.bulk_create(
        RegistryKeypoint(entry=entry, descriptor=bits, x=x, y=y)
        for bits, (x, y) in zip(upright.indexed, upright.indexed_points.tolist(), strict=True)
    )


@transaction.atomic
def generated_image_refingerprint(*, entry: GeneratedImage) -> None:
    """Compute an entry's signals again from its stored file (after the guard's signals change)."""
    with entry.file.open("rb") as fh:
        prints = fingerprints.fingerprint(inspect_image(fh.read()).image)
    RegistryKeypoint.objects.filter(entry=entry).delete()  # replaced by the new ones
    _registry_prints_store(entry, prints)


def catalog_recheck_defer(*, entry: GeneratedImage) -> None:
    """Queue the job that quarantines catalog images matching this new registry entry."""
    from catalog.tasks import recheck_catalog_against  # tasks import services

    recheck_catalog_against.defer(entry_id=entry.pk)


def catalog_recheck_against(*, entry: GeneratedImage) -> list[ProductImage]:
    """Quarantine catalog images that match one (new) registry entry; returns those quarantined.

    Uses the exact bytes, the PDQ the catalog stores per image and its keypoints (a catalog
    image that is a crop, a framed or a covered copy). Images a member of staff released for
    this entry stay released.
    """
    quarantined = []
    for image, match in catalog_images_matching(entry=entry):
        if GuardRelease.objects.filter(image=image, entry=entry).exists():
            continue
        product_image_quarantine(image=image, match=match)
        quarantined.append(image)
    return quarantined


def product_image_quarantine(*, image: ProductImage, match: GuardMatch) -> None:
    image.guard_status = ProductImage.GuardStatus.QUARANTINED
    merchant_id = Product.objects.filter(pk=image.product_id).values_list("merchant_id", flat=True)
    reason = guard_reason(match, owner=_owns_entry(match, merchant_id.get()))
    image.guard_reason = f"Matched by the provenance guard: {reason}."
    image.guard_match_id = match.entry_id
    image.save(update_fields=["guard_status", "guard_reason", "guard_match"])
    catalog_visibility_changed.send(sender=ProductImage)


@transaction.atomic
def product_image_release(*, image: ProductImage, user: User, note: str) -> GuardRelease:
    """A member of staff overrides a quarantine (a false positive), leaving an audit record."""
    if image.guard_status != ProductImage.GuardStatus.QUARANTINED:
        raise ValidationError("Only a quarantined image can be released.", code="not_quarantined")
    if not note.strip():
        raise ValidationError("Say why this image is a real photo.", code="note_required")
    release = GuardRelease.objects.create(
        image=image,
        entry_id=image.guard_match_id,
        released_by=user,
        quarantine_reason=image.guard_reason,
        note=note.strip(),
    )
    image.guard_status = ProductImage.GuardStatus.PASSED
    image.guard_reason = ""
    image.save(update_fields=["guard_status", "guard_reason"])
    catalog_visibility_changed.send(sender=ProductImage)
    return release


@transaction.atomic
def product_image_backfill_guard(*, image: ProductImage) -> bool:
    """Give a catalog image its (current) hash and keypoints, and quarantine it if it matches the
    registry. Returns whether it was quarantined."""
    with image.file.open("rb") as fh:
        data = fh.read()
    _inspected, verdict = _inspect_and_guard(data)
    image.pdq = verdict.pdq
    image.save(update_fields=["pdq"])
    ProductImageKeypoint.objects.filter(image=image).delete()
    _keypoints_store(image, verdict)
    if verdict.match and image.guard_status == ProductImage.GuardStatus.PASSED:
        product_image_quarantine(image=image, match=verdict.match)
        return True
    return False
