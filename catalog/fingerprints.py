"""Perceptual fingerprints of an image: what the provenance guard compares.

Three signals, chosen by measurement on the shared clothing photos (see bench/guard.py):
- PDQ (256 bit) of the image and of its mirror, and a 64-bit pHash: survive re-encoding,
  resizing, grayscale and brightness changes, but not crops (a 5% crop moves PDQ ~100 bits).
- ORB local features: survive crops. A few strong, spatially spread descriptors per orientation
  go into an HNSW index, with their positions, to find candidates; the full feature set, kept
  in a compressed blob, verifies a candidate geometrically.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageOps

PDQ_BITS = 256
PHASH_BITS = 64
# Both sides are scaled so the longer side is this long: a half-size or double-size copy then
# yields the same keypoints. 512 px costs ~8 ms of ORB per orientation on one core.
NORMALISED_SIDE = 512
ORB_FEATURES = 500
# Low-texture product shots (a plain shirt on white) give a dozen keypoints at OpenCV's default
# FAST threshold of 20; 7 gives hundreds, which a 10% crop still shares.
ORB_FAST_THRESHOLD = 7
# Descriptors per orientation that enter the keypoint index: 64 found 98-100% of cropped
# copies among the top 5 candidates; the index grows by 128 rows per registered image.
INDEXED_KEYPOINTS = 64
_GRID = 4  # indexed keypoints are spread over a 4x4 grid, so one busy corner cannot take them all
THUMB_SIDE = 128  # grayscale thumbnail for the aligned-correlation check


@dataclass
class Orientation:
    points: np.ndarray  # (n, 2) float32, in normalised pixel coordinates
    descriptors: np.ndarray  # (n, 32) uint8
    thumbnail: np.ndarray  # (h, w) uint8, THUMB_SIDE on the longer side
    # Rows of the keypoints that go into the keypoint index (none for stored features).
    strongest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @functools.cached_property
    def indexed(self) -> list[str]:
        """Bit strings of the descriptors that go into the keypoint index."""
        return descriptor_bits(self.descriptors[self.strongest]) if len(self.strongest) else []

    @property
    def indexed_points(self) -> np.ndarray:
        """(k, 2) positions of the indexed keypoints, in normalised pixels."""
        return self.points[self.strongest]


@dataclass
class Fingerprint:
    pdq: str
    pdq_mirror: str
    phash: str
    upright: Orientation
    mirrored: Orientation

    def features_blob(self) -> bytes:
        """The features a later check needs to verify a match, compressed (~30 kB)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            **{
                f"{name}_{part}": getattr(getattr(self, name), part)
                for name in ("upright", "mirrored")
                for part in ("points", "descriptors", "thumbnail")
            },
        )
        return buffer.getvalue()


def load_features(blob: bytes) -> dict[str, Orientation]:
    return {name: load_orientation(blob, name) for name in ("upright", "mirrored")}


def load_orientation(blob: bytes, name: str) -> Orientation:
    """One orientation ("upright" or "mirrored") of a features blob; only its arrays are
    decompressed."""
    arrays = np.load(io.BytesIO(blob))
    return Orientation(
        points=arrays[f"{name}_points"],
        descriptors=arrays[f"{name}_descriptors"],
        thumbnail=arrays[f"{name}_thumbnail"],
    )


def bits_to_string(bits) -> str:
    return "".join("1" if b else "0" for b in bits)


def descriptor_bits(descriptors: np.ndarray) -> list[str]:
    return ["".join(map(str, row)) for row in np.unpackbits(descriptors, axis=1)]


def normalised(image: Image.Image, side: int = NORMALISED_SIDE) -> Image.Image:
    width, height = image.size
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.BILINEAR)


def _orb():
    return cv2.ORB_create(
        nfeatures=ORB_FEATURES, fastThreshold=ORB_FAST_THRESHOLD, edgeThreshold=15, patchSize=15
    )


def _spread_strongest(points, responses, shape, count: int) -> np.ndarray:
    """Indices of the `count` strongest keypoints, at most count/16 per grid cell first."""
    height, width = shape
    order = np.argsort(-responses)
    col = np.minimum((points[:, 0] / width * _GRID).astype(int), _GRID - 1)
    row = np.minimum((points[:, 1] / height * _GRID).astype(int), _GRID - 1)
    cell = row * _GRID + col
    per_cell = max(1, count // (_GRID * _GRID))
    taken: dict[int, int] = {}
    chosen = []
    for i in order:
        if taken.get(cell[i], 0) < per_cell:
            chosen.append(i)
            taken[cell[i]] = taken.get(cell[i], 0) + 1
    chosen_set = set(chosen)
    chosen += [i for i in order if i not in chosen_set]
    return np.array(chosen[:count], dtype=int)


def orientation(gray: Image.Image, *, indexed: int = INDEXED_KEYPOINTS) -> Orientation:
    pixels = np.asarray(gray)
    keypoints, descriptors = _orb().detectAndCompute(pixels, None)
    if descriptors is None:
        points, descriptors, responses = (
            np.zeros((0, 2), np.float32),
            np.zeros((0, 32), np.uint8),
            np.zeros(0, np.float32),
        )
    else:
        points = np.float32([k.pt for k in keypoints])
        responses = np.float32([k.response for k in keypoints])
    strongest = _spread_strongest(points, responses, pixels.shape, indexed)
    return Orientation(
        points=points,
        descriptors=descriptors,
        thumbnail=np.asarray(normalised(gray, THUMB_SIDE)),
        strongest=strongest,
    )


def global_hashes(rgb: Image.Image) -> tuple[str, str]:
    """(PDQ, pHash) bit strings of an image already passed through `normalised`."""
    pdq, _quality = pdqhash.compute(np.asarray(rgb))
    phash = imagehash.phash(rgb.convert("L")).hash.flatten()
    return bits_to_string(pdq), bits_to_string(phash)


def fingerprint(image: Image.Image) -> Fingerprint:
    """All signals of one decoded image, for the registry (~35 ms for a 640x480 photo)."""
    rgb = normalised(image.convert("RGB"))
    pdq, phash = global_hashes(rgb)
    pdq_mirror, _ = global_hashes(ImageOps.mirror(rgb))
    gray = rgb.convert("L")
    return Fingerprint(
        pdq=pdq,
        pdq_mirror=pdq_mirror,
        phash=phash,
        upright=orientation(gray),
        mirrored=orientation(ImageOps.mirror(gray)),
    )


# A vote agrees with a placement when its keypoint lands this close to where the placement
# puts it (normalised pixels; ORB finds corners to a pixel or two at the scale they are found).
PLACEMENT_PIXELS = 8.0
# Both sides are normalised to the same longer side, so a copy cut from a registered image maps
# into it at a scale <= 1 (0.8 for a 10% crop per side); a little over 1 allows added borders.
PLACEMENT_SCALES = (0.2, 1.5)
PLACEMENT_PROPOSERS = 24  # 276 pairs
PLACEMENT_PROPOSALS = 16


def placement_votes(query_points: np.ndarray, reference_points) -> int:
    """How many (query point -> reference point) votes one plausible placement of the query in
    the reference explains, each place counted once.

    Pairs of votes propose similarity transforms (all pairs of the strongest, so the answer
    does not depend on chance); one of a scale no copy has is ignored. Counting distinct
    keypoints matters: a repeated texture sends many query points to one reference keypoint,
    which a transform that shrinks everything onto it would otherwise "explain" (OpenCV's
    RANSAC chose such ones here).
    """
    query = np.asarray(query_points, np.float64) @ [1, 1j]
    reference = np.asarray(reference_points, np.float64) @ [1, 1j]
    if len(query) < 2:
        return 0
    # Proposals come from pairs of the first (strongest) votes; every vote is counted.
    first, second = np.triu_indices(min(len(query), PLACEMENT_PROPOSERS), k=1)
    spread = query[second] - query[first]
    usable = (spread != 0) & (reference[second] != reference[first])
    first, second, spread = first[usable], second[usable], spread[usable]
    scale_rotation = (reference[second] - reference[first]) / spread
    low, high = PLACEMENT_SCALES
    plausible = (np.abs(scale_rotation) >= low) & (np.abs(scale_rotation) <= high)
    if not plausible.any():
        return 0
    scale_rotation, first = scale_rotation[plausible], first[plausible]
    shift = reference[first] - scale_rotation * query[first]
    placed = scale_rotation[:, None] * query[None, :] + shift[:, None]
    agrees = np.abs(placed - reference[None, :]) <= PLACEMENT_PIXELS
    # Counting distinct keypoints costs more than counting votes: only for the best proposals.
    best = np.argsort(-agrees.sum(axis=1), kind="stable")[:PLACEMENT_PROPOSALS]
    agrees = agrees[best].astype(np.float32)
    distinct_query = ((agrees @ _one_hot(query)) > 0).sum(axis=1)
    distinct_reference = ((agrees @ _one_hot(reference)) > 0).sum(axis=1)
    return int(np.minimum(distinct_query, distinct_reference).max())


def _one_hot(points: np.ndarray) -> np.ndarray:
    """(votes, distinct places) matrix: which place each vote names. ORB finds one corner at
    several scales a pixel apart: places closer than the tolerance count once."""
    _, which = np.unique(np.round(points / PLACEMENT_PIXELS), return_inverse=True)
    return np.eye(which.max() + 1, dtype=np.float32)[which]


@dataclass(frozen=True)
class GeometricMatch:
    inliers: int
    frame_fit: float  # how well the query's frame lands inside the reference (1 = a crop of it)
    correlation: float  # normalised cross-correlation of the aligned thumbnails


_matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
RATIO_TEST = 0.8  # Lowe's ratio: keeps a match only when clearly better than the second best
RANSAC_PIXELS = 5.0


def _normalised_shape(orientation: Orientation) -> tuple[float, float]:
    height, width = orientation.thumbnail.shape
    scale = NORMALISED_SIDE / max(height, width)
    return height * scale, width * scale


def _frame_fit(query: Orientation, reference: Orientation, transform: np.ndarray) -> float:
    """min(share of the mapped query frame inside the reference, reference area covered / 0.6).

    A crop, resize or re-encode of the reference maps inside it and covers most of it; two
    different photos that share a background (the same carpet, the same hangers) map elsewhere.
    """
    qh, qw = _normalised_shape(query)
    rh, rw = _normalised_shape(reference)
    corners = np.float32([[0, 0], [qw, 0], [qw, qh], [0, qh]])
    mapped = (corners @ transform[:, :2].T + transform[:, 2]).astype(np.float32)
    frame = np.float32([[0, 0], [rw, 0], [rw, rh], [0, rh]])
    inside, _ = cv2.intersectConvexConvex(mapped, frame)
    mapped_area = cv2.contourArea(mapped)
    if mapped_area <= 0:
        return 0.0
    return float(min(inside / mapped_area, inside / (rw * rh) / 0.6))


def _aligned_correlation(query: Orientation, reference: Orientation, transform) -> float:
    """Correlation of the query thumbnail with the reference warped onto it."""
    to_thumb = THUMB_SIDE / NORMALISED_SIDE
    scaled = transform.copy()
    scaled[:, 2] *= to_thumb
    inverse = cv2.invertAffineTransform(scaled)
    q = query.thumbnail.astype(np.float32)
    height, width = q.shape
    warped = cv2.warpAffine(reference.thumbnail.astype(np.float32), inverse, (width, height))
    ones = np.ones_like(reference.thumbnail, np.float32)
    covered = cv2.warpAffine(ones, inverse, (width, height))
    valid = covered > 0.99
    if valid.mean() < 0.5:
        return -1.0
    a = q[valid] - q[valid].mean()
    b = warped[valid] - warped[valid].mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def geometric_match(query: Orientation, reference: Orientation) -> GeometricMatch | None:
    """Match local features, fit a similarity transform with RANSAC, and score its plausibility."""
    if len(query.descriptors) < 4 or len(reference.descriptors) < 4:
        return None
    pairs = _matcher.knnMatch(query.descriptors, reference.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < 8:
        return None
    src = np.float32([query.points[m.queryIdx] for m in good])
    dst = np.float32([reference.points[m.trainIdx] for m in good])
    transform, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS
    )
    if transform is None or mask is None:
        return None
    return GeometricMatch(
        inliers=int(mask.sum()),
        frame_fit=_frame_fit(query, reference, transform),
        correlation=_aligned_correlation(query, reference, transform),
    )
