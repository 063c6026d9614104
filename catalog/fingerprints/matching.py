"""Verifying a candidate: how one image lies in the other (feature matches, a similarity
transform) and how well the aligned pixels, and their colours, agree there."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import faiss
import numpy as np

from catalog.fingerprints.features import ORB_FEATURES, Orientation, colourless
from catalog.fingerprints.placement import PLACEMENT_SCALES
from catalog.fingerprints.prepare import NORMALISED_SIDE

# The overlap's longer side (px of the 128-px thumbnail) under which the fine thumbnails are
# compared (features.FINE_THUMB_SIDE).
SMALL_OVERLAP = 80


@dataclass(frozen=True)
class GeometricMatch:
    """How one image lies in another, and how well their pixels agree there."""

    inliers: int  # feature matches that fit one similarity transform
    containment: float  # overlap / the smaller frame (1: one image lies inside the other)
    coverage: float  # overlap / the larger frame (0.25: a crop to half the width and height)
    agreement: float  # median correlation of the aligned cells (1: the same pixels)
    cells: int  # cells with texture on either side that the agreement was measured on
    # inliers / the keypoints that lie in the overlap (on the side with fewer there): a copy
    # finds the partner of a large share of them, two garments with one outline a few percent
    share: float
    # The share of the overlap's cells whose colours differ (0: the same colours everywhere),
    # or None when one side has no colour thumbnail.
    chroma: float | None = None
    # How much nearer a perspective view (a homography) brings the inliers than the similarity
    # transform does, in pixels of the side that shows the overlap smaller (perspective_gain).
    perspective: float = 0.0


RATIO_TEST = 0.8  # Lowe's ratio: keeps a match only when clearly better than the second best
RANSAC_PIXELS = 5.0
AGREEMENT_GRID = 8  # the overlap is cut into 8 x 8 cells
CELL_TEXTURE = 6.0  # grey-level standard deviation below which a cell counts as flat


def _normalised_shape(orientation: Orientation) -> tuple[float, float]:
    height, width = orientation.thumbnail.shape
    scale = NORMALISED_SIDE / max(height, width)
    return height * scale, width * scale


def _overlap(query: Orientation, reference: Orientation, transform) -> tuple[float, float]:
    """(containment, coverage) of the query's frame mapped into the reference's frame."""
    qh, qw = _normalised_shape(query)
    rh, rw = _normalised_shape(reference)
    corners = np.float32([[0, 0], [qw, 0], [qw, qh], [0, qh]])
    mapped = (corners @ transform[:, :2].T + transform[:, 2]).astype(np.float32)
    frame = np.float32([[0, 0], [rw, 0], [rw, rh], [0, rh]])
    inside, _ = cv2.intersectConvexConvex(mapped, frame)
    mapped_area = cv2.contourArea(mapped)
    if mapped_area <= 0:
        return 0.0, 0.0
    areas = sorted((mapped_area, rw * rh))
    return float(inside / areas[0]), float(inside / areas[1])


def _pixels_to_normalised(detail: float) -> np.ndarray:
    """3x3: pixel indices of an image with `detail` pixels per normalised pixel to normalised
    pixel indices (ORB's coordinates: pixel centres at whole numbers). Centres matter: a
    half-turn was off by 0.75 thumbnail pixels without, which lowered the correlation of copies
    turned upside down from 0.99 to 0.93."""
    offset = 0.5 / detail - 0.5
    return np.array([[1 / detail, 0, offset], [0, 1 / detail, offset], [0, 0, 1]])


def _detail(pixels: np.ndarray) -> float:
    """Thumbnail pixels per normalised pixel."""
    return max(pixels.shape) / NORMALISED_SIDE


def _overlap_side(target: Orientation, to_target: np.ndarray, source: Orientation) -> float:
    """The longer side of the source's frame inside the target's, in normalised pixels."""
    th, tw = _normalised_shape(target)
    sh, sw = _normalised_shape(source)
    corners = np.array([[0, 0, 1], [sw, 0, 1], [sw, sh, 1], [0, sh, 1]]) @ to_target[:2].T
    low = np.maximum(corners.min(axis=0), 0)
    high = np.minimum(corners.max(axis=0), [tw, th])
    return float(max(high - low))


def _aligned(query: Orientation, reference: Orientation, transform):
    """(target, warped, valid) thumbnails: the image that shows the shared part with less
    detail is the target, the other one is blurred to its detail and warped onto it. A small
    overlap is compared on the fine thumbnails (where both sides have them)."""
    to_reference = np.vstack([transform, [0, 0, 1]])
    if np.sqrt(abs(np.linalg.det(transform[:, :2]))) >= 1:  # the reference is shown smaller
        target, source, to_target = query, reference, np.linalg.inv(to_reference)
    else:
        target, source, to_target = reference, query, to_reference
    target_pixels, source_pixels = target.thumbnail, source.thumbnail
    small = _overlap_side(target, to_target, source) * _detail(target_pixels) < SMALL_OVERLAP
    if small and target.fine_thumbnail is not None and source.fine_thumbnail is not None:
        target_pixels, source_pixels = target.fine_thumbnail, source.fine_thumbnail
    warp = (
        np.linalg.inv(_pixels_to_normalised(_detail(target_pixels)))
        @ to_target
        @ _pixels_to_normalised(_detail(source_pixels))
    )[:2].astype(np.float32)
    scale = float(np.sqrt(abs(np.linalg.det(warp[:, :2]))))
    source = source_pixels.astype(np.float32)
    if scale < 0.9:  # shrinking: blur first, as a resize would
        source = cv2.GaussianBlur(source, (0, 0), 0.5 * (1 / scale - 1))
    height, width = target_pixels.shape
    warped = cv2.warpAffine(source, warp, (width, height), flags=cv2.INTER_LINEAR)
    ones = np.ones(source.shape, np.uint8)
    valid = cv2.warpAffine(ones, warp, (width, height), flags=cv2.INTER_NEAREST)
    # Two pixels in from the edges: JPEG ringing along a trimmed border is not the image.
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)) > 0
    return target_pixels.astype(np.float32), warped, valid


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def cell_agreement(target, warped, valid) -> tuple[float, int]:
    """(median correlation over the overlap's cells, number of cells it was taken over).

    A median tolerates what covers part of a copy (a logo, a tag, a band: up to a fifth of its
    area spoils fewer than half the cells) where one correlation over everything does not. Thin
    strokes (a watermark) are taken out by a 3x3 median filter first. A cell textured on one
    side only counts as disagreeing; flat on both sides, it says nothing and is left out.
    """
    target = cv2.medianBlur(target.astype(np.uint8), 3).astype(np.float32)
    warped = cv2.medianBlur(np.clip(warped, 0, 255).astype(np.uint8), 3).astype(np.float32)
    cells = _overlap_cells(valid)
    if cells is None:
        return -1.0, 0
    scores = []
    for cell in cells:
        inside = valid[cell]
        a, b = target[cell][inside], warped[cell][inside]
        textured = (a.std() >= CELL_TEXTURE, b.std() >= CELL_TEXTURE)
        if all(textured):
            scores.append(_correlation(a, b))
        elif any(textured):
            scores.append(0.0)
    if not scores:
        return -1.0, 0
    return float(np.median(scores)), len(scores)


def _overlap_cells(valid: np.ndarray) -> list[tuple[slice, slice]] | None:
    """The AGREEMENT_GRID x AGREEMENT_GRID cells over the overlap's bounding box that lie at
    least 90% inside it, or None when the overlap is under 200 pixels."""
    rows, cols = np.nonzero(valid)
    if len(rows) < 200:
        return None
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    n = AGREEMENT_GRID
    cells = []
    for i in range(n):
        for j in range(n):
            cell = (
                slice(top + (bottom - top) * i // n, top + (bottom - top) * (i + 1) // n),
                slice(left + (right - left) * j // n, left + (right - left) * (j + 1) // n),
            )
            inside = valid[cell]
            if inside.size and inside.mean() >= 0.9:
                cells.append(cell)
    return cells


@dataclass(frozen=True)
class FeatureFit:
    """How one image lies in the other by their matching local features: the first, cheap half
    of a verification (most unrelated candidates end here)."""

    transform: np.ndarray  # 2x3 similarity from the query's normalised pixels to the reference's
    scale: float  # the transform's
    inliers: int
    containment: float
    coverage: float
    share: float  # as GeometricMatch.share
    source: np.ndarray  # (inliers, 2) their positions in the query
    target: np.ndarray  # (inliers, 2) and in the reference


def _positions(query: Orientation, reference: Orientation) -> tuple[np.ndarray, np.ndarray]:
    """The keypoints' positions to fit: where they lie (ORB's, corrected by their pyramid
    level: Orientation.pyramid_offsets) when both sides know it, else as ORB reports them on
    both sides (an entry registered before), whose errors then cancel but for turned copies."""
    if query.pyramid_offsets is None or reference.pyramid_offsets is None:
        return query.points, reference.points
    return (
        query.points + query.pyramid_offsets[:, None],
        reference.points + reference.pyramid_offsets[:, None],
    )


def _ratio_matches(query: np.ndarray, reference: np.ndarray):
    """(query rows, reference rows, distances) of the matches that pass Lowe's ratio test."""
    # The two nearest reference descriptors of each query descriptor, by an exact search of
    # FAISS's binary index: the same matches as OpenCV's batchDistance (900 of 900 pairs of
    # real photos), 4.5-5.5x sooner (~1,000 query descriptors against 1,500: 8.4 -> 1.5 ms;
    # against 500, a first look: 2.8 -> 0.6), with its popcount kernels for the CPU it runs on.
    # It searches on the calling thread's OpenMP threads (one on the guard's own pool).
    index = faiss.IndexBinaryFlat(reference.shape[1] * 8)
    index.add(np.ascontiguousarray(reference))
    distances, nearest = index.search(np.ascontiguousarray(query), 2)
    good = np.flatnonzero(distances[:, 0] < RATIO_TEST * distances[:, 1])
    return good, nearest[good, 0], distances[good, 0]


def _similarity_ransac(src: np.ndarray, dst: np.ndarray):
    """(transform, inlier mask, scale) of the similarity transform most matches fit, or None
    when there is none at a scale a copy lies at (RANSAC fit a degenerate one)."""
    transform, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS
    )
    if transform is None or mask is None:
        return None
    scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    low, high = PLACEMENT_SCALES
    return (transform, mask, scale) if low <= scale <= high else None


def first_look(query: Orientation, reference: Orientation) -> int:
    """A cheap look at a candidate before its feature fit: the inliers of the best similarity
    transform between the query's features and one detection's worth of the reference's (every
    third of a registered image's 1,500), each reference keypoint matched once, by its nearest
    query descriptor. Matched once, a repeated texture or a flat patch can no longer pile
    matches onto one spot, where an unrelated photo's few inliers come from
    (thresholds.FIRST_LOOK_INLIERS). 0: no transform at a scale a copy lies at."""
    query_points, reference_points = _positions(query, reference)
    step = math.ceil(len(reference.descriptors) / ORB_FEATURES)
    descriptors, points = reference.descriptors[::step], reference_points[::step]
    if len(query.descriptors) < 4 or len(descriptors) < 4:
        return 0
    good, nearest, distances = _ratio_matches(query.descriptors, descriptors)
    order = np.argsort(distances, kind="stable")
    _, first = np.unique(nearest[order], return_index=True)
    good, nearest = good[order[first]], nearest[order[first]]
    if len(good) < 8:
        return 0
    fitted = _similarity_ransac(np.float32(query_points[good]), np.float32(points[nearest]))
    return 0 if fitted is None else int(fitted[1].sum())


def feature_fit(query: Orientation, reference: Orientation) -> FeatureFit | None:
    """Match local features, fit a similarity transform with RANSAC, and measure how the two
    frames overlap (None: too few matches, or no scale a copy lies at)."""
    if len(query.descriptors) < 4 or len(reference.descriptors) < 4:
        return None
    good, nearest, _ = _ratio_matches(query.descriptors, reference.descriptors)
    if len(good) < 8:
        return None
    query_points, reference_points = _positions(query, reference)
    src = np.float32(query_points[good])
    dst = np.float32(reference_points[nearest])
    fitted = _similarity_ransac(src, dst)
    if fitted is None:
        return None
    transform, mask, scale = fitted
    containment, coverage = _overlap(query, reference, transform)
    inlying = mask.ravel().astype(bool)
    inliers = int(inlying.sum())
    # Each side's count is capped at one detection's worth: a registered image keeps three
    # times a query's keypoints, and a small copy (on a page) shows only its coarse ones, so its
    # 1,500 in the overlap halved the share of copies at 0.7 on a page (0.07-0.09 -> 0.03-0.05).
    in_overlap = min(
        _points_inside(query_points, transform, reference),
        _points_inside(reference_points, cv2.invertAffineTransform(transform), query),
        ORB_FEATURES,
    )
    return FeatureFit(
        transform=transform,
        scale=scale,
        inliers=inliers,
        containment=containment,
        coverage=coverage,
        share=inliers / max(1, in_overlap),
        source=src[inlying],
        target=dst[inlying],
    )


def compared(query: Orientation, reference: Orientation, fit: FeatureFit) -> GeometricMatch:
    """The second half of a verification: how well the pixels (and colours) aligned by `fit`
    agree, and whether its matches are a perspective view."""
    agreement, cells, chroma = -1.0, 0, None
    if fit.coverage > 0:
        agreement, cells = cell_agreement(*_aligned(query, reference, fit.transform))
        chroma = chroma_difference(query, reference, fit.transform)
    return GeometricMatch(
        inliers=fit.inliers,
        containment=fit.containment,
        coverage=fit.coverage,
        agreement=agreement,
        cells=cells,
        share=fit.share,
        chroma=chroma,
        perspective=perspective_gain(fit.source, fit.target, fit.scale),
    )


def geometric_match(query: Orientation, reference: Orientation) -> GeometricMatch | None:
    """Both halves of a verification: how one image lies in the other, and how well their
    pixels agree there."""
    fit = feature_fit(query, reference)
    return None if fit is None else compared(query, reference, fit)


def perspective_gain(src: np.ndarray, dst: np.ndarray, scale: float) -> float:
    """How much nearer a homography brings the matches than a similarity transform does (the
    difference of their median distances), in pixels of the side that shows them smaller.

    Every edit a copy goes through (crops, scaling, turns, mirrors, pads, frames) moves the whole
    picture by one similarity transform: a homography, with four more degrees of freedom, fits
    its matches hardly better. A second photo of one garment from another place is a
    perspective view of it: the homography fits it clearly better. Its four extra degrees of
    freedom also fit noise among a few dozen coarse matches (a heavy crop), so the gain counts
    only as far as it holds for matches left out of the fit (even and odd ones, in turn).
    `scale`: that of the similarity transform placing src in dst.
    """
    if len(src) < 10:  # too few to tell (verification asks for more)
        return 0.0
    even, odd = slice(0, None, 2), slice(1, None, 2)
    in_sample = _gain(src, dst, src, dst)
    held_out = (
        _gain(src[even], dst[even], src[odd], dst[odd])
        + _gain(src[odd], dst[odd], src[even], dst[even])
    ) / 2
    # Distances are measured in the reference; where it is shown smaller (on a page), its
    # pixels are finer than the query's by the transform's scale.
    return min(in_sample, held_out) / max(1.0, scale)


def _gain(fit_src, fit_dst, test_src, test_dst) -> float:
    """Median distance of the test matches from a similarity transform fitted to the fit
    matches, minus their median distance from a homography fitted to them."""
    homography, _ = cv2.findHomography(fit_src, fit_dst, 0)
    if homography is None:
        return 0.0
    similar = _similarity(fit_src, fit_dst)
    off_similar = np.linalg.norm(test_src @ similar[:, :2].T + similar[:, 2] - test_dst, axis=1)
    seen = cv2.perspectiveTransform(test_src[None].astype(np.float64), homography)[0]
    return float(np.median(off_similar) - np.median(np.linalg.norm(seen - test_dst, axis=1)))


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity transform from src to dst (as complex numbers: dst = a
    src + b)."""
    z_src, z_dst = src.astype(np.float64) @ [1, 1j], dst.astype(np.float64) @ [1, 1j]
    (a, b), *_ = np.linalg.lstsq(np.stack([z_src, np.ones_like(z_src)], axis=1), z_dst)
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


CHROMA_DIFFERS = 10.0  # Lab a/b distance of a cell's median pixel: another colour


def chroma_difference(query: Orientation, reference: Orientation, transform) -> float | None:
    """The share of the overlap's cells whose colours differ (their median Lab a/b distance
    over CHROMA_DIFFERS), aligned as the grayscale thumbnails are (None without colour on
    both sides)."""
    if query.chroma is None or reference.chroma is None:
        return None
    if colourless(query.chroma) or colourless(reference.chroma):  # a grayscale copy
        return None
    channels = []
    for channel in (0, 1):
        sides = [
            replace(side, thumbnail=side.chroma[..., channel], fine_thumbnail=None)
            for side in (query, reference)
        ]
        channels.append(_aligned(*sides, transform))
    (target_a, warped_a, valid), (target_b, warped_b, _) = channels
    distance = np.hypot(target_a - warped_a, target_b - warped_b)
    cells = _overlap_cells(valid)
    if not cells:
        return None
    medians = np.array([np.median(distance[cell][valid[cell]]) for cell in cells])
    return float(np.mean(medians > CHROMA_DIFFERS))


def _points_inside(points: np.ndarray, transform: np.ndarray, frame: Orientation) -> int:
    """How many of `points`, mapped by `transform`, land inside `frame`'s normalised image."""
    height, width = _normalised_shape(frame)
    mapped = points @ transform[:, :2].T + transform[:, 2]
    x, y = mapped[:, 0], mapped[:, 1]
    return int(((x >= 0) & (x <= width) & (y >= 0) & (y <= height)).sum())
