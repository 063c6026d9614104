"""Local features (ORB) of an image: what the registry keeps of an entry and what a query
brings, with the few strong descriptors that go into the keypoint index."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps

from catalog.fingerprints.hashes import descriptor_bits, pdq_dihedral
from catalog.fingerprints.prepare import normalised, prepared

# ORB's pyramid: each level 1.2 times smaller (OpenCV's default, named here because keypoint
# positions are corrected by it: `_pyramid_offsets`).
ORB_SCALE_FACTOR = 1.2
ORB_FEATURES = 500  # a query's, in each orientation (and as many again at half size)
# A registered image keeps three times as many for its verification: a crop to a quarter,
# magnified 2x, shows only the finest of them (of 500, it held ~125, most too coarse to show).
# Own-entry verification of 120 photos, 500 / 1,500: crop_corner_50 96 / 112, crop_centre_25
# 104 / 111, crop_centre_20 114 / 117; a feature fit 1.7-2.0 -> 4.7 ms, the blob ~70 -> ~100 kB.
# Its indexed keypoints are chosen among all of them: spread over the grid from 1,500, a corner
# quarter holds more. bench/guard.py, 120 registered, 17 edits, one session: 500 features /
# 1,500 indexed among the 500 a detection of 500 keeps / 1,500 indexed among all: misses 87 /
# 77 / 64 (crop_corner_50 0.700 / 0.742 / 0.842, crop_centre_25 0.767 / 0.783 / 0.808), 0 of
# 300 real photos refused by each.
REGISTERED_FEATURES = 1500
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
    # (n,) float32: how far ORB places each keypoint up and left of where it lies (its pyramid
    # level's half-pixel; `_pyramid_offsets`). None in entries registered before it was kept.
    pyramid_offsets: np.ndarray | None = None

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
    pdq_trimmed: str | None  # None when the image has no borders to trim
    upright: Orientation

    def features_blob(self) -> bytes:
        """The features a later check needs to verify a match, compressed (~100 kB at 1,500
        features; ~70 kB at 500, half of it the fine thumbnail)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            **{
                f"upright_{part}": getattr(self.upright, part)
                for part in (
                    "points",
                    "descriptors",
                    "thumbnail",
                    "fine_thumbnail",
                    "chroma",
                    "pyramid_offsets",
                )
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


def load_orientation(blob: bytes, *, pixels: bool = True) -> Orientation:
    """The upright features of a features blob (older blobs hold a mirrored copy too, which is
    left compressed). Without `pixels`, its fine thumbnail and colours stay compressed too (half
    the blob): a verification needs them only for a candidate whose features fit."""
    arrays = np.load(io.BytesIO(blob))
    return Orientation(
        points=arrays["upright_points"],
        descriptors=arrays["upright_descriptors"],
        thumbnail=arrays["upright_thumbnail"],
        fine_thumbnail=arrays.get("upright_fine_thumbnail") if pixels else None,
        chroma=arrays.get("upright_chroma") if pixels else None,
        pyramid_offsets=arrays.get("upright_pyramid_offsets"),
    )


def chroma_thumbnail(rgb: Image.Image) -> np.ndarray:
    """(h, w, 2) Lab a and b of the THUMB_SIDE thumbnail: colour without brightness."""
    pixels = np.asarray(normalised(rgb.convert("RGB"), THUMB_SIDE))
    return np.ascontiguousarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)[..., 1:])


# A grayscale image's a and b sit within a level or two of neutral (128), JPEG included.
NEUTRAL_CHROMA = 4.0


def colourless(chroma: np.ndarray) -> bool:
    """Whether (almost) every pixel of a chroma thumbnail is grey: nothing to compare colours
    by (a grayscale copy of a colour image would differ in every coloured cell)."""
    distance = np.hypot(chroma[..., 0] - 128.0, chroma[..., 1] - 128.0)
    return float(np.mean(distance > NEUTRAL_CHROMA)) < 0.01


def _orb(features: int):
    return cv2.ORB_create(
        nfeatures=features,
        scaleFactor=ORB_SCALE_FACTOR,
        fastThreshold=ORB_FAST_THRESHOLD,
        edgeThreshold=15,
        patchSize=15,
    )


def _pyramid_offsets(octaves: np.ndarray) -> np.ndarray:
    """How far up and left of its true place ORB reports each keypoint, in pixels: it finds a
    keypoint on a pyramid level s times smaller and multiplies its position by s, while the
    level's pixel centres sit at (x + 0.5) s - 0.5. The error grows with the level (0.1 px on
    the first, 1.3 on the last) and cancels between an upright copy and its original, but
    doubles for a half-turned one, whose levels err the other way: such a fit was 0.3-1.3 px
    off, and its aligned pixels agreed at 0.82-0.99 (4 photos, turned, some cropped and
    grayscale too), 0.90-1.0 once corrected."""
    return (0.5 * (ORB_SCALE_FACTOR ** octaves.astype(np.float32) - 1)).astype(np.float32)


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


@dataclass(frozen=True)
class _Detected:
    """ORB's keypoints of one image: the part of an Orientation that is not its pixels."""

    points: np.ndarray
    descriptors: np.ndarray
    strongest: np.ndarray
    pyramid_offsets: np.ndarray


def _detected(gray: Image.Image, *, indexed: int, across_scales: bool, features: int) -> _Detected:
    pixels = np.asarray(gray)
    keypoints, descriptors = _orb(features).detectAndCompute(pixels, None)
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
    return _Detected(points, descriptors, strongest, _pyramid_offsets(octaves))


def orientation(
    gray: Image.Image,
    *,
    indexed: int = INDEXED_KEYPOINTS,
    across_scales: bool = False,
    features: int = ORB_FEATURES,
) -> Orientation:
    """ORB features of one orientation; `indexed` of them chosen for the keypoint index, the
    strongest ones (a query's) or a share from each scale (a registered image's)."""
    found = _detected(gray, indexed=indexed, across_scales=across_scales, features=features)
    return Orientation(
        points=found.points,
        descriptors=found.descriptors,
        thumbnail=np.asarray(normalised(gray, THUMB_SIDE)),
        fine_thumbnail=np.asarray(normalised(gray, FINE_THUMB_SIDE)),
        strongest=found.strongest,
        pyramid_offsets=found.pyramid_offsets,
    )


def fingerprint(image: Image.Image) -> Fingerprint:
    """What the registry stores of one decoded image (~15 ms for a 400x533 photo, 13.5 when it
    kept 500 features)."""
    whole, inner = prepared(image)
    upright = orientation(
        inner.convert("L"),
        indexed=REGISTERED_KEYPOINTS,
        across_scales=True,
        features=REGISTERED_FEATURES,
    )
    upright.chroma = chroma_thumbnail(inner)
    return Fingerprint(
        pdq=pdq_dihedral(whole)[0],
        pdq_trimmed=None if inner is whole else pdq_dihedral(inner)[0],
        upright=upright,
    )


def _query_orientation(
    gray: Image.Image, thumbnail: np.ndarray, fine_thumbnail: np.ndarray
) -> Orientation:
    """The features of a query in one orientation: those of the image and of its half-size copy
    (positions in the image's pixels), both verified and both looked up; its thumbnails given."""
    full = _detected(gray, indexed=INDEXED_KEYPOINTS, across_scales=False, features=ORB_FEATURES)
    small = gray.resize((max(1, gray.width // 2), max(1, gray.height // 2)), Image.BILINEAR)
    half = _detected(small, indexed=HALF_SIZE_KEYPOINTS, across_scales=False, features=ORB_FEATURES)
    return Orientation(
        points=np.vstack([full.points, half.points * 2 + 0.5]).astype(np.float32),
        descriptors=np.vstack([full.descriptors, half.descriptors]),
        thumbnail=thumbnail,
        fine_thumbnail=fine_thumbnail,
        strongest=np.concatenate([full.strongest, half.strongest + len(full.points)]),
        pyramid_offsets=np.concatenate([full.pyramid_offsets, half.pyramid_offsets * 2]),
    )


@dataclass(frozen=True)
class QueryHashes:
    """The first, cheap part of a check's signals: the prepared images and their PDQ hashes,
    which a check looks up while the local features are computed."""

    inner: Image.Image  # without its borders: what the local features are computed on
    pdq_dihedral: list[str]
    pdq_trimmed_dihedral: list[str]


def query_hashes(image: Image.Image) -> QueryHashes:
    whole, inner = prepared(image)
    hashes = pdq_dihedral(whole)
    trimmed_hashes = hashes if inner is whole else pdq_dihedral(inner)
    return QueryHashes(inner, hashes, trimmed_hashes)


def query_print(
    image: Image.Image, *, mirrored_on=None, hashed: QueryHashes | None = None
) -> QueryPrint:
    """What a check computes of one decoded image. `mirrored_on`: an executor to compute the
    mirrored features on while this thread does the rest (ORB releases the GIL). `hashed`: the
    image's `query_hashes`, when already computed."""
    hashed = hashed or query_hashes(image)
    gray = hashed.inner.convert("L")
    # The mirror's thumbnails are the upright ones flipped, to the pixel (the resampling is
    # symmetric; checked on 379 of the shared photos): resizing again cost ~1 ms a check.
    thumbnails = (
        np.asarray(normalised(gray, THUMB_SIDE)),
        np.asarray(normalised(gray, FINE_THUMB_SIDE)),
    )
    flipped = [np.ascontiguousarray(thumbnail[:, ::-1]) for thumbnail in thumbnails]
    if mirrored_on is None:
        mirrored = _query_orientation(ImageOps.mirror(gray), *flipped)
    else:
        pending = mirrored_on.submit(_query_orientation, ImageOps.mirror(gray), *flipped)
    upright = _query_orientation(gray, *thumbnails)
    upright.chroma = chroma_thumbnail(hashed.inner)
    if mirrored_on is not None:
        mirrored = pending.result()
    mirrored.chroma = np.ascontiguousarray(upright.chroma[:, ::-1])
    return QueryPrint(
        pdq_dihedral=hashed.pdq_dihedral,
        pdq_trimmed_dihedral=hashed.pdq_trimmed_dihedral,
        upright=upright,
        mirrored=mirrored,
    )
