"""Bit strings: PDQ hashes of an image, and descriptors as pgvector's bit(256) columns take them."""

from __future__ import annotations

import numpy as np
import pdqhash
from PIL import Image

PDQ_BITS = 256


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


def pdq_dihedral(rgb: Image.Image) -> list[str]:
    """PDQ bit strings of a normalised image in its 8 rotations and mirrors (one pass), upright
    first. Quarter turns and mirrors land within ~12 bits of the hash of the turned image."""
    hashes, _quality = pdqhash.compute_dihedral(np.asarray(rgb))
    return [bits_to_string(bits) for bits in hashes]
