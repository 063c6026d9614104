"""Do a query's keypoint votes for an entry agree on one placement of the query in it?"""

from __future__ import annotations

import functools

import numpy as np

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
    first, second = _pairs(min(len(query), PLACEMENT_PROPOSERS))
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


@functools.cache
def _pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs of `count` items (a check asks for ~30 placements: numpy took 1 ms to list
    them again each time). Read-only: every caller shares them."""
    pairs = np.triu_indices(count, k=1)
    for indices in pairs:
        indices.flags.writeable = False
    return pairs


def _one_hot(points: np.ndarray) -> np.ndarray:
    """(votes, distinct places) matrix: which place each vote names. ORB finds one corner at
    several scales a pixel apart: places closer than the tolerance count once."""
    _, which = np.unique(np.round(points / PLACEMENT_PIXELS), return_inverse=True)
    return np.eye(which.max() + 1, dtype=np.float32)[which]
