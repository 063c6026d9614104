"""Perceptual fingerprints of an image: what the provenance guard compares.

Signals are computed on the image without its plain borders or padding (`prepared`); PDQ on
the image as it is, too. Two signals, chosen by measurement on the shared clothing photos (see
bench/guard.py):
- PDQ (256 bit): survives re-encoding, resizing, grayscale, brightness, and (computed for the
  8 rotations and mirrors of a query) quarter turns and mirrors; not crops or covers.
- ORB local features: survive crops, frames and covers. A few strong, spatially spread upright
  descriptors go into an HNSW index, with their positions, to find candidates; the full feature
  set, kept in a compressed blob, verifies a candidate geometrically and by the agreement of
  the aligned pixels.
(A 64-bit pHash was dropped: at 4 bits it matched different real photos shot the same way.)
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import pdqhash
from PIL import Image, ImageOps

PDQ_BITS = 256
# Both sides are scaled so the longer side is this long: a half-size or double-size copy then
# yields the same keypoints. 512 px costs ~8 ms of ORB per orientation on one core.
NORMALISED_SIDE = 512
ORB_FEATURES = 500
# Low-texture product shots (a plain shirt on white) give a dozen keypoints at OpenCV's default
# FAST threshold of 20; 7 gives hundreds, which a 10% crop still shares.
ORB_FAST_THRESHOLD = 7
# The descriptors a query looks up, per orientation: 64 found 98-100% of cropped copies among
# the top 5 candidates. A query sends its upright and its mirrored ones.
INDEXED_KEYPOINTS = 64
# The registry indexes its entries upright only, 56 rows each (14 from each band of scales):
# the rows are most of its memory (~320 bytes each with the graph), and 56 keep the registry
# under 20 MB per 1,000 entries (19.6 measured; 64: 22.8). Against 64, the same hard copies
# (242k keypoints of the 3,781 photos, 240 copies of 80) ranked their own entry in the 3 most
# voted as often (186 / 186; most voted 150 / 160); bench/guard.py, 60 registered, one run
# each, 56 then 64: page_0.5 0.983 / 0.967, crop_centre_20 0.917 / 0.900, crop_centre_25
# 0.750 / 0.767, crop_corner_50 0.650 / 0.683, page_0.6, crop_strip_40 and page_0.7+band_10
# the same; 47 / 46 misses of 420 (two runs of one code differ by ~2 on crop_corner_50). 48
# rows lost more (own entry in the top 3: 177).
REGISTERED_KEYPOINTS = 56
# A registered image indexes a quarter of them from each pair of ORB's 8 pyramid levels. By
# strength alone half came from the finest level and 15% from the coarsest four, which are all
# a copy at half size (on a page, in a frame) still shows: its own entry then lacked the votes
# to be verified. bench/guard.py, 60 registered, before -> after: page_0.6 0.95 -> 1.0,
# page_0.5 0.93 -> 0.98, page_0.7+band_10 0.87 -> 0.92, but the heaviest crops, which need the
# fine detail, lost some: crop_centre_25 0.78 -> 0.75, crop_corner_50 0.70 -> 0.63 (misses on
# these seven edits 48 -> 45). 48 by strength + 16 coarse gained less on pages, lost as much.
SCALE_BANDS = ((0, 1), (2, 3), (4, 5), (6, 7))
# A query also sends the 32 strongest descriptors of its half-size copy: a crop magnified 2x
# shows the registered image's detail at the registered scale there (a crop to half the width
# and height: recall 0.58 -> 0.72 for 40 registered photos; 64 more full-size ones gained nothing).
HALF_SIZE_KEYPOINTS = 32
_GRID = 4  # indexed keypoints are spread over a 4x4 grid, so one busy corner cannot take them all
THUMB_SIDE = 128  # grayscale thumbnail for the aligned-pixel check
# A second, finer thumbnail for small overlaps: a crop to half the width (or a copy at half size
# on a page) fills only 64 px of a 128-px thumbnail, whose cells of 8 x 6 pixels JPEG and
# resampling spoil (copies at 0.87-0.91, too few textured cells); in the 256-px one it fills 128.
# Larger overlaps keep the 128-px comparison the thresholds were calibrated on (comparing them
# finer lowered some copies' agreement: a half-turned crop from 0.98 to 0.89).
FINE_THUMB_SIDE = 256
SMALL_OVERLAP = 80  # px of the 128-px thumbnail, the overlap's longer side


@dataclass
class Orientation:
    points: np.ndarray  # (n, 2) float32, in normalised pixel coordinates
    descriptors: np.ndarray  # (n, 32) uint8
    thumbnail: np.ndarray  # (h, w) uint8, THUMB_SIDE on the longer side
    # FINE_THUMB_SIDE on the longer side (None in entries registered before it was kept).
    fine_thumbnail: np.ndarray | None = None
    # Rows of the keypoints that go into the keypoint index (none for stored features).
    strongest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    # (h, w, 2) uint8 Lab a and b at THUMB_SIDE (None in entries registered before it was kept):
    # grayscale cannot tell an orange t-shirt from a pink one on the same bedspread.
    chroma: np.ndarray | None = None

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
    """What the registry keeps of an image: its PDQ (upright, as it is and without its borders)
    and its upright local features. A query brings the other orientations (`QueryPrint`)."""

    pdq: str
    pdq_trimmed: str
    upright: Orientation

    def features_blob(self) -> bytes:
        """The features a later check needs to verify a match, compressed (~70 kB, half of it
        the fine thumbnail)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            **{
                f"upright_{part}": getattr(self.upright, part)
                for part in ("points", "descriptors", "thumbnail", "fine_thumbnail", "chroma")
            },
        )
        return buffer.getvalue()


@dataclass
class QueryPrint:
    """What a check computes of an image: the PDQ of its eight rotations and mirrors, and its
    local features upright and mirrored (ORB follows rotations by itself, not mirrors)."""

    pdq_dihedral: list[str]  # [0] is the image as it is: the one a catalog image stores
    pdq_trimmed_dihedral: list[str]  # the same without its borders (the same if it has none)
    upright: Orientation
    mirrored: Orientation

    @property
    def pdq(self) -> str:
        return self.pdq_dihedral[0]

    @property
    def sides(self) -> dict[bool, Orientation]:
        return {False: self.upright, True: self.mirrored}


def load_orientation(blob: bytes) -> Orientation:
    """The upright features of a features blob (older blobs hold a mirrored copy too, which is
    left compressed)."""
    arrays = np.load(io.BytesIO(blob))
    return Orientation(
        points=arrays["upright_points"],
        descriptors=arrays["upright_descriptors"],
        thumbnail=arrays["upright_thumbnail"],
        fine_thumbnail=arrays.get("upright_fine_thumbnail"),
        chroma=arrays.get("upright_chroma"),
    )


def bits_to_string(bits) -> str:
    return _rows_to_strings(np.asarray(bits, dtype=bool)[None])[0]


def descriptor_bits(descriptors: np.ndarray) -> list[str]:
    """'0'/'1' strings of (n, 32) byte descriptors: what pgvector's bit(256) columns take."""
    return _rows_to_strings(np.unpackbits(descriptors, axis=1))


def _rows_to_strings(bits: np.ndarray) -> list[str]:
    # One ASCII buffer for all rows: joining digits row by row in Python cost ~25 ms a check.
    text = (bits.astype(np.uint8) + ord("0")).tobytes().decode("ascii")
    width = bits.shape[1]
    return [text[i : i + width] for i in range(0, len(text), width)]


def normalised(image: Image.Image, side: int = NORMALISED_SIDE) -> Image.Image:
    width, height = image.size
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.BILINEAR)


# Borders and padding are trimmed before anything is hashed: a line (row or column) belongs to
# a border when >= 97% of its pixels lie within 10 levels of the outermost line's median colour,
# measured on a 256-px copy. Plain borders and pads are flat to a level or two, even as JPEG;
# photo backgrounds are not (a tolerance of 24 also cut into real photos' own margins, and
# grayscale or brightness edits then cut them differently: PDQ moved > 31 bits on 1 in 4).
TRIM_SIDE = 256
TRIM_LEVELS = 10
TRIM_SHARE = 0.97
TRIM_KEEP = 0.2  # never trim an image to less than a fifth of a side
TRIM_PASSES = 4  # a border inside a border (a frame in a pad) is trimmed in later passes


def _border_lines(lines: np.ndarray) -> int:
    """How many of `lines` (outermost first; lines, pixels, RGB) are flat in one colour, plus
    the line after them: JPEG bleeds a border's colour into the picture's first pixels (a red
    border tinted the bare wall below it, which was then left untrimmed: PDQ 88 bits away)."""
    colour = np.median(lines[0], axis=0)

    def flat_lines(chunk: np.ndarray) -> np.ndarray:
        return (np.abs(chunk - colour).max(axis=2) <= TRIM_LEVELS).mean(axis=1) >= TRIM_SHARE

    if not flat_lines(lines[:1])[0]:  # most photos have no border: one line decides
        return 0
    flat = flat_lines(lines)
    count = len(flat) if flat.all() else int(np.argmin(flat))
    return min(len(flat), count + 1) if count else 0


def _content_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of `pixels` (h, w, 3) without its uniform borders."""
    height, width, _ = pixels.shape
    rows, cols = int(height * (1 - TRIM_KEEP)), int(width * (1 - TRIM_KEEP))
    top = _border_lines(pixels[:rows])
    bottom = _border_lines(pixels[::-1][:rows])
    left = _border_lines(pixels.transpose(1, 0, 2)[:cols])
    right = _border_lines(pixels.transpose(1, 0, 2)[::-1][:cols])
    if height - top - bottom < height * TRIM_KEEP:
        top = bottom = 0
    if width - left - right < width * TRIM_KEEP:
        left = right = 0
    return left, top, width - right, height - bottom


def trimmed(rgb: Image.Image) -> Image.Image:
    """The image without plain borders or padding (a frame, a square pad, a letterbox).

    Each pass looks at what is left at the same 256-px scale, so a border inside a pad (or the
    photo's own plain margin, a bare wall) is judged as it would be in the image alone.
    """
    for _ in range(TRIM_PASSES):
        small = normalised(rgb, TRIM_SIDE)
        left, top, right, bottom = _content_box(np.asarray(small, np.int16))
        if (left, top, right, bottom) == (0, 0, small.width, small.height):
            break
        sx, sy = rgb.width / small.width, rgb.height / small.height
        rgb = rgb.crop((round(left * sx), round(top * sy), round(right * sx), round(bottom * sy)))
    return rgb


def prepared(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(as it is, without its borders) in RGB, longer side normalised: the images the signals
    are computed on. Both are hashed: a photo's own plain margin (a bare wall) is trimmed too,
    and a brighter copy, whose wall is clipped to white, is trimmed further (PDQ moved 58 bits
    on one of 9 test photos), while the copy as it is still hashes close to the photo."""
    rgb = image.convert("RGB")
    whole = normalised(rgb)
    inner = trimmed(rgb)
    return whole, (whole if inner is rgb else normalised(inner))


def chroma_thumbnail(rgb: Image.Image) -> np.ndarray:
    """(h, w, 2) Lab a and b of the THUMB_SIDE thumbnail: colour without brightness."""
    pixels = np.asarray(normalised(rgb.convert("RGB"), THUMB_SIDE))
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)[..., 1:])


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


def _spread_over_scales(points, responses, octaves, shape, count: int) -> np.ndarray:
    """Indices of `count` keypoints: an equal share from each band of pyramid levels (the
    strongest of each, spread over the grid), then the strongest of the rest."""
    chosen: list[int] = []
    share = count // len(SCALE_BANDS)
    for lowest, highest in SCALE_BANDS:
        band = np.flatnonzero((octaves >= lowest) & (octaves <= highest))
        if len(band):
            picked = _spread_strongest(points[band], responses[band], shape, min(share, len(band)))
            chosen += band[picked].tolist()
    taken = set(chosen)
    chosen += [i for i in np.argsort(-responses) if i not in taken][: count - len(chosen)]
    return np.array(chosen, dtype=int)


def orientation(
    gray: Image.Image, *, indexed: int = INDEXED_KEYPOINTS, across_scales: bool = False
) -> Orientation:
    """ORB features of one orientation; `indexed` of them chosen for the keypoint index, the
    strongest ones (a query's) or a share from each scale (a registered image's)."""
    pixels = np.asarray(gray)
    keypoints, descriptors = _orb().detectAndCompute(pixels, None)
    if descriptors is None:
        points, descriptors, responses, octaves = (
            np.zeros((0, 2), np.float32),
            np.zeros((0, 32), np.uint8),
            np.zeros(0, np.float32),
            np.zeros(0, int),
        )
    else:
        points = np.float32([k.pt for k in keypoints])
        responses = np.float32([k.response for k in keypoints])
        octaves = np.array([k.octave for k in keypoints])
    if across_scales:
        strongest = _spread_over_scales(points, responses, octaves, pixels.shape, indexed)
    else:
        strongest = _spread_strongest(points, responses, pixels.shape, indexed)
    return Orientation(
        points=points,
        descriptors=descriptors,
        thumbnail=np.asarray(normalised(gray, THUMB_SIDE)),
        fine_thumbnail=np.asarray(normalised(gray, FINE_THUMB_SIDE)),
        strongest=strongest,
    )


def pdq_dihedral(rgb: Image.Image) -> list[str]:
    """PDQ bit strings of a normalised image in its 8 rotations and mirrors (one pass), upright
    first. Quarter turns and mirrors land within ~12 bits of the hash of the turned image."""
    hashes, _quality = pdqhash.compute_dihedral(np.asarray(rgb))
    return [bits_to_string(bits) for bits in hashes]


def fingerprint(image: Image.Image) -> Fingerprint:
    """What the registry stores of one decoded image (~25 ms for a 640x480 photo)."""
    whole, inner = prepared(image)
    upright = orientation(inner.convert("L"), indexed=REGISTERED_KEYPOINTS, across_scales=True)
    upright.chroma = chroma_thumbnail(inner)
    return Fingerprint(
        pdq=pdq_dihedral(whole)[0], pdq_trimmed=pdq_dihedral(inner)[0], upright=upright
    )


def _query_orientation(gray: Image.Image) -> Orientation:
    """The features of a query in one orientation: those of the image and of its half-size copy
    (positions in the image's pixels), both verified and both looked up."""
    full = orientation(gray)
    small = gray.resize((max(1, gray.width // 2), max(1, gray.height // 2)), Image.BILINEAR)
    half = orientation(small, indexed=HALF_SIZE_KEYPOINTS)
    return Orientation(
        points=np.vstack([full.points, half.points * 2 + 0.5]).astype(np.float32),
        descriptors=np.vstack([full.descriptors, half.descriptors]),
        thumbnail=full.thumbnail,
        fine_thumbnail=full.fine_thumbnail,
        strongest=np.concatenate([full.strongest, half.strongest + len(full.points)]),
    )


def query_print(image: Image.Image, *, mirrored_on=None) -> QueryPrint:
    """What a check computes of one decoded image. `mirrored_on`: an executor to compute the
    mirrored features on while this thread does the rest (ORB releases the GIL)."""
    whole, inner = prepared(image)
    gray = inner.convert("L")
    if mirrored_on is None:
        mirrored = _query_orientation(ImageOps.mirror(gray))
    else:
        pending = mirrored_on.submit(_query_orientation, ImageOps.mirror(gray))
    upright = _query_orientation(gray)
    upright.chroma = chroma_thumbnail(inner)
    hashes = pdq_dihedral(whole)
    trimmed_hashes = hashes if inner is whole else pdq_dihedral(inner)
    if mirrored_on is not None:
        mirrored = pending.result()
    mirrored.chroma = np.ascontiguousarray(upright.chroma[:, ::-1])
    return QueryPrint(
        pdq_dihedral=hashes,
        pdq_trimmed_dihedral=trimmed_hashes,
        upright=upright,
        mirrored=mirrored,
    )


# A vote agrees with a placement when its keypoint lands this close to where the placement
# puts it (normalised pixels; ORB finds corners to a pixel or two at the scale they are found).
PLACEMENT_PIXELS = 8.0
# Both sides are normalised to the same longer side. A copy cut from a registered image maps
# into it at a scale <= 1 (0.5 for a crop to half the width); a registered image shown inside a
# larger query (a frame, a page) maps at a scale > 1 (2 when it fills half the query's width).
PLACEMENT_SCALES = (0.2, 5.0)
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


_matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
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


def geometric_match(query: Orientation, reference: Orientation) -> GeometricMatch | None:
    """Match local features, fit a similarity transform with RANSAC, and measure how the two
    frames overlap and how well the aligned pixels agree."""
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
    scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))
    low, high = PLACEMENT_SCALES
    if not low <= scale <= high:  # no copy lies at that scale (RANSAC fit a degenerate one)
        return None
    containment, coverage = _overlap(query, reference, transform)
    agreement, cells, chroma = -1.0, 0, None
    if coverage > 0:
        agreement, cells = cell_agreement(*_aligned(query, reference, transform))
        chroma = chroma_difference(query, reference, transform)
    inliers = int(mask.sum())
    in_overlap = min(
        _points_inside(query.points, transform, reference),
        _points_inside(reference.points, cv2.invertAffineTransform(transform), query),
    )
    return GeometricMatch(
        inliers=inliers,
        containment=containment,
        coverage=coverage,
        agreement=agreement,
        cells=cells,
        share=inliers / max(1, in_overlap),
        chroma=chroma,
    )


CHROMA_DIFFERS = 10.0  # Lab a/b distance of a cell's median pixel: another colour


def chroma_difference(query: Orientation, reference: Orientation, transform) -> float | None:
    """The share of the overlap's cells whose colours differ (their median Lab a/b distance
    over CHROMA_DIFFERS), aligned as the grayscale thumbnails are (None without colour on
    both sides)."""
    if query.chroma is None or reference.chroma is None:
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
