"""Verifying a candidate: does the query show the registered image, geometrically and pixel by
pixel?"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from catalog import fingerprints
from catalog.guard import thresholds as t
from catalog.guard.results import GuardMatch
from catalog.models import GeneratedImage


def is_verified(match: fingerprints.GeometricMatch | None) -> bool:
    return (
        match is not None
        and match.inliers >= t.MIN_INLIERS
        and match.containment >= t.MIN_CONTAINMENT
        and match.coverage >= t.MIN_COVERAGE
        and match.cells >= t.MIN_CELLS
        and match.share >= t.MIN_INLIER_SHARE
        and match.perspective <= t.MAX_PERSPECTIVE
        and (match.agreement >= t.MIN_AGREEMENT or _covered_copy(match))
    )


def _covered_copy(match: fingerprints.GeometricMatch) -> bool:
    """Most keypoints in line and the same colours: a copy partly covered (thresholds.py)."""
    return (
        match.inliers >= t.OVERWHELMING_INLIERS
        and match.share >= t.OVERWHELMING_SHARE
        and match.agreement >= t.OVERWHELMING_AGREEMENT
        and match.chroma is not None
        and match.chroma <= t.MAX_CHROMA
    )


def best_verified(
    query: fingerprints.QueryPrint, reference: fingerprints.Orientation, sides=(False, True)
) -> fingerprints.GeometricMatch | None:
    """The verified match of the query's `sides` (False: upright) with most inliers."""
    found = [fingerprints.geometric_match(query.sides[side], reference) for side in sides]
    verified = [match for match in found if is_verified(match)]
    return max(verified, key=lambda match: match.inliers, default=None)


def local_feature_match(
    query: fingerprints.QueryPrint, candidates: list[tuple[int, bool | None]]
) -> GuardMatch | None:
    """The best verified candidate: (entry, mirrored side of the query, or None for both)."""
    if not candidates:
        return None
    blobs = dict(
        GeneratedImage.objects.filter(pk__in={pk for pk, _ in candidates}).values_list(
            "pk", "features"
        )
    )

    def verified(candidate: tuple[int, bool | None]) -> fingerprints.GeometricMatch | None:
        pk, mirrored = candidate
        reference = fingerprints.load_orientation(bytes(blobs[pk]))
        return best_verified(query, reference, (False, True) if mirrored is None else (mirrored,))

    stored = [candidate for candidate in candidates if blobs.get(candidate[0])]
    best = None
    for (pk, _), found in zip(stored, opencv_pool.map(verified, stored), strict=True):
        if found is not None and (best is None or found.inliers > best.inliers):
            best = GuardMatch(signal="local_features", entry_id=pk, inliers=found.inliers)
    return best


# One pool for a check's OpenCV work (ORB and matching release the GIL): the mirrored features
# are computed on it while the check's thread does the rest, and candidates are verified two
# at a time (an unrelated photo, the slowest path, has ~5 verified at ~10 ms each).
opencv_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fidelis-guard")
