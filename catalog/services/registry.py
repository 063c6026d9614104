"""Writes to the provenance registry: generated images in, the catalog re-checked against them."""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import transaction

from catalog import fingerprints
from catalog.guard import catalog_images_matching
from catalog.images import inspect_image
from catalog.models import (
    GeneratedImage,
    GuardRelease,
    Merchant,
    ProductImage,
    RegistryKeypoint,
    generated_image_path,
)
from catalog.services.images import product_image_quarantine


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
    on_registered: Callable[[GeneratedImage], None] | None = None,
) -> GeneratedImage:
    """Enter a generated image in the provenance registry, then store its bytes.

    Registration comes before release: the registry row (with its hashes and keypoints) is
    committed first, and only then do the bytes get a name in storage. A crash in between
    leaves a registered hash and no file, never a file the guard does not know.
    Call it outside a transaction (the durable block says so if not). `on_registered` runs
    inside the registration's transaction, so what it writes (a create job's link to the
    image) commits with the registry row or not at all.
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
        if on_registered is not None:
            on_registered(entry)
    name = entry.file.storage.save(
        generated_image_path(entry, f"image.{inspected.extension}"), ContentFile(data)
    )
    GeneratedImage.objects.filter(pk=entry.pk).update(file=name)
    entry.file.name = name
    catalog_recheck_defer(entry=entry)
    return entry


def _registry_prints_store(entry: GeneratedImage, prints: fingerprints.Fingerprint) -> None:
    """Save the entry with its hash, features and indexed keypoints."""
    entry.pdq = prints.pdq
    entry.pdq_trimmed = prints.pdq_trimmed
    entry.features = prints.features_blob()
    entry.save()
    upright = prints.upright
    RegistryKeypoint.objects.bulk_create(
        RegistryKeypoint(entry=entry, descriptor=bits, x=round(x), y=round(y))
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
