"""The images the signals are computed on: one normalised size, plain borders trimmed."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Both sides are scaled so the longer side is this long: a half-size or double-size copy then
# yields the same keypoints. 512 px costs ~8 ms of ORB per orientation on one core.
NORMALISED_SIDE = 512


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
