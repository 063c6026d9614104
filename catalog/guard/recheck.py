"""The reverse re-check: which catalog images match a newly registered entry?"""

from __future__ import annotations

from django.db.models import Q
from pgvector.django import HammingDistance

from catalog import fingerprints
from catalog.guard import keypoint_index
from catalog.guard import thresholds as t
from catalog.guard.real_source import is_its_real_source, stored_image_print
from catalog.guard.registry import keypoint_votes
from catalog.guard.results import GuardMatch, ImageSeen
from catalog.guard.verification import best_verified
from catalog.models import GeneratedImage, ProductImage


def catalog_images_matching(*, entry: GeneratedImage) -> list[tuple[ProductImage, GuardMatch]]:
    """Passed catalog images that match one registry entry: bytes, PDQ (in any rotation or
    mirror), or local features (a catalog photo that is a crop, a framed or a covered copy)."""
    entry_print = stored_image_print(entry) if entry.file else None
    hashes = (
        entry_print.pdq_dihedral if entry_print else [entry.pdq]
    )  # vs catalog images as they are
    passed = ProductImage.objects.filter(guard_status=ProductImage.GuardStatus.PASSED)
    distances = {f"bits_{i}": HammingDistance("pdq", pdq) for i, pdq in enumerate(hashes)}
    near = Q(sha256=entry.sha256)
    for name in distances:
        near |= Q(**{f"{name}__lte": t.PDQ_MATCH_BITS})
    found = []
    for image in passed.annotate(**distances).filter(near):
        # Images without a stored hash give NULL distances (None): they match by sha256 only.
        bits = [getattr(image, name) for name in distances if getattr(image, name) is not None]
        if image.sha256 == entry.sha256:
            match = GuardMatch(signal="sha256", entry_id=entry.pk, bits=0)
        else:
            match = GuardMatch(signal="pdq", entry_id=entry.pk, bits=int(min(bits)))
        found.append((image, match, None))
    if entry_print is not None:
        found_ids = {image.pk for image, _, _ in found}
        for image, query, inliers in _catalog_copies_of(entry, entry_print, exclude=found_ids):
            match = GuardMatch(signal="local_features", entry_id=entry.pk, inliers=inliers)
            found.append((image, match, query))
    return [
        (image, match)
        for image, match, query in found
        if not is_its_real_source(ImageSeen(sha256=image.sha256, pdq=image.pdq, query=query), match)
    ]


def _catalog_copies_of(entry, entry_print: fingerprints.QueryPrint, *, exclude: set[int]):
    """The reverse of a check: the entry's keypoints (both sides) vote for catalog images, whose
    own signals (computed from their file) are verified against the entry."""
    keypoint_index.retrain_if_grown()  # the index's lists follow the catalog as it grows
    voted = keypoint_votes(
        {side: orientation.indexed for side, orientation in entry_print.sides.items()},
        table="catalog_productimagekeypoint",
        owner="image_id",
        candidates=t.RECHECK_CANDIDATES,
    )
    candidates = {votes.owner_id for votes in voted} - exclude
    reference = fingerprints.load_orientation(bytes(entry.features))
    for image in ProductImage.objects.filter(
        pk__in=candidates, guard_status=ProductImage.GuardStatus.PASSED
    ):
        query = stored_image_print(image)
        found = best_verified(query, reference)
        if found is not None:
            yield image, query, found.inliers
