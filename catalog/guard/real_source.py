"""The real-source rule: the merchant's own photo is not a copy of the concept made from it."""

from __future__ import annotations

from django.db.models import Subquery
from PIL import Image

from catalog import fingerprints
from catalog.guard.results import GuardMatch, ImageSeen
from catalog.guard.verification import best_verified
from catalog.models import GeneratedImage, ProductImage


def is_its_real_source(seen: ImageSeen, match: GuardMatch) -> bool:
    """Whether `seen` is the real product photo an image-to-image concept was made from.

    A close variation (high fidelity) looks like its source: without this rule, making one
    would quarantine the merchant's real photo and refuse it on every later upload. The photo
    (or a copy of it) is strictly closer to the source than to the concept; the concept itself,
    or a copy of it, is at least as close to the concept. Ties go to the guard.
    """
    if match.entry_id is None or match.signal == "sha256":
        return False
    source_id = GeneratedImage.objects.filter(pk=match.entry_id).values("source_image_id")
    source = ProductImage.objects.filter(pk=Subquery(source_id)).only("sha256", "pdq", "file")
    source = source.first()
    if source is None:
        return False
    if source.sha256 == seen.sha256:
        return True
    if match.signal == "pdq" and source.pdq and seen.pdq:
        hashes = seen.query.pdq_dihedral if seen.query is not None else [seen.pdq]
        return min(hamming(source.pdq, pdq) for pdq in hashes) < match.bits
    if match.signal == "local_features" and seen.query is not None:
        found = best_verified(seen.query, stored_image_reference(source))
        return found is not None and found.inliers > match.inliers
    return False


def _decoded(image) -> Image.Image:
    with image.file.open("rb") as fh:
        decoded = Image.open(fh)
        decoded.load()
    return decoded


def stored_image_print(image) -> fingerprints.QueryPrint:
    """A stored image's signals as a check computes them (to look it up), from its file."""
    return fingerprints.query_print(_decoded(image))


def stored_image_reference(image) -> fingerprints.Orientation:
    """A stored image's local features as the registry keeps them (to verify against)."""
    return fingerprints.fingerprint(_decoded(image)).upright


def hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))
