"""Verifying a candidate: does the query show the registered image, geometrically and pixel by
pixel?"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import faiss

from catalog import fingerprints
from catalog.guard import thresholds as t
from catalog.guard.results import GuardMatch
from catalog.models import GeneratedImage


def fits(fit: fingerprints.FeatureFit | fingerprints.GeometricMatch | None) -> bool:
    """The geometry of a copy: enough matches in line, one frame inside the other, and a fair
    share of the overlap's keypoints matched."""
    return (
        fit is not None
        and fit.inliers >= t.MIN_INLIERS
        and fit.containment >= t.MIN_CONTAINMENT
        and fit.coverage >= t.MIN_COVERAGE
        and fit.share >= t.MIN_INLIER_SHARE
    )


def is_verified(match: fingerprints.GeometricMatch | None) -> bool:
    return (
        fits(match)
        and match.cells >= t.MIN_CELLS
        and match.perspective <= t.MAX_PERSPECTIVE
        and not _other_colours(match)
        and (match.agreement >= t.MIN_AGREEMENT or _covered_copy(match))
    )


def _other_colours(match: fingerprints.GeometricMatch) -> bool:
    """Two garments of one cut in one pose on one background, in different colours: their
    grayscale pixels can agree like a copy's (thresholds.MAX_CHROMA)."""
    return (
        match.chroma is not None
        and match.chroma > t.MAX_CHROMA
        and match.agreement < t.SAME_PIXELS_AGREEMENT
    )


def _covered_copy(match: fingerprints.GeometricMatch) -> bool:
    """Most keypoints in line: a copy partly covered (thresholds.py). Its colours must agree
    too, which `_other_colours` checks for every match: a covered copy's grayscale agreement
    lies under SAME_PIXELS_AGREEMENT, so more than MAX_CHROMA of another colour refuses it."""
    return (
        match.inliers >= t.OVERWHELMING_INLIERS
        and match.share >= t.OVERWHELMING_SHARE
        and match.agreement >= t.OVERWHELMING_AGREEMENT
        and match.chroma is not None
    )


def best_verified(
    query: fingerprints.QueryPrint,
    reference: fingerprints.Orientation,
    sides=(False, True),
    *,
    with_pixels: Callable[[], fingerprints.Orientation] | None = None,
) -> fingerprints.GeometricMatch | None:
    """The verified match of the query's `sides` (False: upright) with most inliers. Features
    are fitted only where a first look finds a placement, and pixels compared only where the
    features fit; `with_pixels` loads the reference's fine thumbnail and colours then, when
    `reference` was loaded without them."""
    verified = []
    for side in sides:
        if fingerprints.first_look(query.sides[side], reference) < t.FIRST_LOOK_INLIERS:
            continue  # most unrelated candidates end here, for a third of a fit's cost
        fit = fingerprints.feature_fit(query.sides[side], reference)
        if fits(fit):
            complete = with_pixels() if with_pixels else reference
            match = fingerprints.compared(query.sides[side], complete, fit)
            if is_verified(match):
                verified.append(match)
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
        blob = bytes(blobs[pk])
        return best_verified(
            query,
            fingerprints.load_orientation(blob, pixels=False),
            (False, True) if mirrored is None else (mirrored,),
            with_pixels=functools.cache(lambda: fingerprints.load_orientation(blob)),
        )

    stored = [candidate for candidate in candidates if blobs.get(candidate[0])]
    best = None
    for (pk, _), found in zip(stored, opencv_pool.map(verified, stored), strict=True):
        if found is not None and (best is None or found.inliers > best.inliers):
            best = GuardMatch(signal="local_features", entry_id=pk, inliers=found.inliers)
    return best


# One pool for a check's OpenCV and FAISS work (ORB and matching release the GIL): the
# mirrored features are computed on it while the check's thread does the rest, and candidates
# are verified two at a time. An unrelated photo, the slowest path, has ~9 candidates (120
# registered): a first look at each, and for 7% of them a feature fit against the entry's
# 1,500 features (the matching in each: 0.6 and 1.5 ms on one thread with FAISS, 2.8 and 8.4
# with OpenCV's batchDistance). Each thread searches on itself alone: OpenMP threads of its own
# would oversubscribe the cores. Set per thread, as OpenMP's thread count is shared with
# torch's in the process, whose other threads keep theirs.
opencv_pool = ThreadPoolExecutor(
    max_workers=2,
    thread_name_prefix="fidelis-guard",
    initializer=faiss.omp_set_num_threads,
    initargs=(1,),
)
