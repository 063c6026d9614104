"""Writes about catalog images: admission through the guard, storage, quarantine, release."""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction

from catalog.guard import GuardMatch, GuardVerdict, image_guard_check
from catalog.images import InspectedImage, inspect_image
from catalog.models import (
    GeneratedImage,
    GuardRelease,
    Merchant,
    Product,
    ProductImage,
    ProductImageKeypoint,
    product_image_path,
)
from catalog.signals import catalog_visibility_changed, product_images_added

User = get_user_model()


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
    """The image's keypoint rows (~96), by COPY: bulk_create built a model object and bound a
    parameter for each of them, on the import's writing thread."""
    table = ProductImageKeypoint._meta.db_table
    statement = f"COPY {table} (image_id, descriptor) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for bits in verdict.keypoints:
            copy.write_row((image.pk, bits))


def product_image_create(
    *,
    product: Product,
    data: bytes,
    position: int = 0,
    admitted: tuple[InspectedImage, GuardVerdict] | None = None,
    source: str = "",
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
        source=source,
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
