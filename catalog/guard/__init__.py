"""The provenance guard: is this image one of our generated images, or does it say it is generated?

One check for every way into the catalog (admin, API, bulk import, re-checks). Cheapest first:
1. metadata: XMP or C2PA declaring an AI digital source type (even if not in our registry);
2. exact bytes (sha256);
3. PDQ of the image as it is and without its borders, in its 8 rotations and mirrors (HNSW);
4. local features: strong ORB descriptors (upright and mirrored) vote for candidates through
   HNSW; a candidate whose votes agree on one placement is matched with its full feature set,
   verified geometrically (one image inside the other: crops, frames, pads) and by the
   agreement of the aligned pixels cell by cell (survives a covered part).
Thresholds (catalog/guard/thresholds.py) were calibrated with bench/guard.py.
"""

from __future__ import annotations

from PIL import Image

from catalog import fingerprints
from catalog.concurrent_reads import read_beside
from catalog.declared_source import declared_generated_source
from catalog.guard import thresholds
from catalog.guard.real_source import is_its_real_source
from catalog.guard.recheck import catalog_images_matching
from catalog.guard.registry import local_feature_candidates, nearest_by_pdq
from catalog.guard.results import GuardMatch, GuardVerdict, ImageSeen
from catalog.guard.verification import local_feature_match, opencv_pool
from catalog.models import GeneratedImage

__all__ = [
    "GuardMatch",
    "GuardVerdict",
    "candidates_to_verify",
    "catalog_images_matching",
    "image_guard_check",
    "thresholds",
]


def image_guard_check(*, data: bytes, image: Image.Image, sha256: str) -> GuardVerdict:
    """Check one decoded image; never writes. `data` are the file's bytes, for its metadata."""
    declared = declared_generated_source(data, image)
    if declared:
        return GuardVerdict(GuardMatch(signal=declared[0], source_type=declared[1]))
    exact = GeneratedImage.objects.filter(sha256=sha256).values_list("pk", flat=True).first()
    if exact:
        return GuardVerdict(GuardMatch(signal="sha256", entry_id=exact, bits=0))
    hashed = fingerprints.query_hashes(image)
    # The PDQ lookups run in a second session while this thread computes the local features.
    near_pending = read_beside(nearest_by_pdq, hashed)
    query = fingerprints.query_print(image, mirrored_on=opencv_pool, hashed=hashed)
    seen = ImageSeen(sha256=sha256, pdq=query.pdq, query=query)
    near = near_pending.result()
    match = None
    if near and near[0][0] <= thresholds.PDQ_MATCH_BITS:
        match = GuardMatch(signal="pdq", entry_id=near[0][1], bits=near[0][0])
        if is_its_real_source(seen, match):
            match = None
    if match is None:
        match = local_feature_match(query, candidates_to_verify(query, near))
        if match is not None and is_its_real_source(seen, match):
            match = None
    return GuardVerdict(match, pdq=query.pdq, keypoints=query.upright.indexed)


def candidates_to_verify(
    query: fingerprints.QueryPrint, near: list[tuple[int, int]]
) -> list[tuple[int, bool | None]]:
    """(entry, side of the query or None for both) pairs a check verifies: those its keypoints
    voted for, then the entries `near` it by PDQ ((bits, entry), nearest_by_pdq)."""
    voted = local_feature_candidates(query)
    voted_ids = {pk for pk, _ in voted}
    # An entry near by PDQ is verified too (both sides), though no keypoint voted for it.
    by_hash = [
        (pk, None)
        for bits, pk in near
        if bits <= thresholds.PDQ_CANDIDATE_BITS and pk not in voted_ids
    ]
    return voted + by_hash
