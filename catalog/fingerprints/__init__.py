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

from catalog.fingerprints.features import (
    REGISTERED_KEYPOINTS,
    Fingerprint,
    Orientation,
    QueryHashes,
    QueryPrint,
    chroma_thumbnail,
    colourless,
    fingerprint,
    load_orientation,
    orientation,
    query_hashes,
    query_print,
)
from catalog.fingerprints.hashes import PDQ_BITS, bits_to_string, descriptor_bits, pdq_dihedral
from catalog.fingerprints.matching import (
    FeatureFit,
    GeometricMatch,
    chroma_difference,
    compared,
    feature_fit,
    first_look,
    geometric_match,
)
from catalog.fingerprints.placement import placement_votes
from catalog.fingerprints.prepare import normalised, prepared, trimmed

__all__ = [
    "PDQ_BITS",
    "REGISTERED_KEYPOINTS",
    "FeatureFit",
    "Fingerprint",
    "GeometricMatch",
    "Orientation",
    "QueryHashes",
    "QueryPrint",
    "bits_to_string",
    "chroma_difference",
    "chroma_thumbnail",
    "colourless",
    "compared",
    "descriptor_bits",
    "feature_fit",
    "fingerprint",
    "first_look",
    "geometric_match",
    "load_orientation",
    "normalised",
    "orientation",
    "pdq_dihedral",
    "placement_votes",
    "prepared",
    "query_hashes",
    "query_print",
    "trimmed",
]
