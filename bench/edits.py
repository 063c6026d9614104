"""The edits a re-uploader, a reseller or a marketplace listing tool makes to an image.

Each edit takes the decoded original and returns the bytes that would be uploaded. They come in
classes (`CLASSES`), each in several strengths, and combined: the guard is designed for the
classes, not for these parameters, and is also measured on edits it never saw.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from functools import partial

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

Edit = Callable[[Image.Image], bytes]


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB" if fmt == "JPEG" else image.mode).save(buffer, fmt, **options)
    return buffer.getvalue()


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float):
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def _rng(image: Image.Image, salt: str) -> random.Random:
    """The same random choices for the same image and edit, on every run."""
    return random.Random(f"{salt}:{image.size}:{image.resize((4, 4)).tobytes().hex()}")


def bordered(image: Image.Image, share: float, colour) -> Image.Image:
    """A border of `share` of the longer side on every side."""
    width = round(max(image.size) * share)
    return ImageOps.expand(image.convert("RGB"), border=width, fill=colour)


def padded(image: Image.Image, aspect: float, colour) -> Image.Image:
    """Padded with a plain colour to width / height = `aspect`, the image centred."""
    w, h = image.size
    size = (max(w, round(h * aspect)), max(h, round(w / aspect)))
    canvas = Image.new("RGB", size, colour)
    canvas.paste(image.convert("RGB"), ((size[0] - w) // 2, (size[1] - h) // 2))
    return canvas


def on_page(image: Image.Image, scale: float) -> Image.Image:
    """A scaled-down copy on a page-like background: paper grain, a frame, lines of 'text'."""
    rng = _rng(image, "page")
    w, h = image.size
    page = Image.effect_noise((w, h), 12).convert("RGB")
    page = Image.blend(page, Image.new("RGB", (w, h), (238, 232, 220)), 0.85)
    draw = ImageDraw.Draw(page)
    inner = image.convert("RGB").resize((round(w * scale), round(h * scale)), Image.LANCZOS)
    x = rng.randint(0, w - inner.width)
    y = rng.randint(0, max(0, round((h - inner.height) * 0.6)))
    for line_y in range(y + inner.height + 8, h - 6, 14):  # text lines under the picture
        draw.rectangle((12, line_y, rng.randint(w // 3, w - 12), line_y + 5), fill=(90, 90, 96))
    draw.rectangle((x - 6, y - 6, x + inner.width + 5, y + inner.height + 5), fill=(60, 40, 30))
    page.paste(inner, (x, y))
    return page


def covered(image: Image.Image, kind: str, area: float) -> Image.Image:
    """Part of the image hidden: `area` of it under a logo, a badge, a price tag, a text band
    or (drawn over everything, half transparent) a watermark."""
    rng = _rng(image, f"cover-{kind}")
    out = image.convert("RGB").copy()
    w, h = out.size
    draw = ImageDraw.Draw(out, "RGBA")
    if kind == "band":  # a band across the bottom or the top edge, with "text" on it
        band = round(h * area)
        top = h - band if rng.random() < 0.5 else 0
        draw.rectangle((0, top, w, top + band), fill=(20, 20, 20, 255))
        for x in range(8, w - 20, 22):
            draw.rectangle((x, top + band // 3, x + 14, top + 2 * band // 3), fill=(250, 250, 250))
        return out
    if kind == "watermark":  # diagonal strokes over the whole picture, half transparent
        for i in range(-h, w, max(6, round(max(2, w // 80) / area))):
            draw.line((i, h, i + h, 0), fill=(255, 255, 255, 110), width=max(2, w // 80))
        return out
    side_w = round(w * (area * w / h) ** 0.5 if w < h else w * area**0.5)
    side_h = round(w * h * area / max(side_w, 1))
    corner = rng.choice(["tl", "tr", "bl", "br"])
    x = 0 if corner[1] == "l" else w - side_w
    y = 0 if corner[0] == "t" else h - side_h
    if kind == "logo":  # an opaque coloured disc with a letter
        draw.ellipse((x, y, x + side_w, y + side_h), fill=(200, 30, 40, 255))
        draw.rectangle(
            (x + side_w // 3, y + side_h // 3, x + 2 * side_w // 3, y + 2 * side_h // 3),
            fill=(255, 255, 255, 255),
        )
    else:  # "tag": a white price tag with dark figures
        draw.rectangle((x, y, x + side_w, y + side_h), fill=(252, 252, 248, 255))
        for row in range(3):
            top = y + side_h * (row + 1) // 5
            draw.rectangle(
                (x + side_w // 6, top, x + 5 * side_w // 6, top + side_h // 9), fill="#222"
            )
    return out


def rotated(image: Image.Image, quarter_turns: int) -> Image.Image:
    return image.rotate(90 * quarter_turns, expand=True)


def _then(*steps) -> Edit:
    """Image steps applied in order, the last one returning bytes."""

    def apply(image: Image.Image) -> bytes:
        for step in steps[:-1]:
            image = step(image)
        return steps[-1](image)

    return apply


def _resized(scale: float):
    return lambda im: im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)


JPEG = partial(encode, quality=85)

# The 16 edits measured since issue 13: re-encoding, resizing, light crops, mirror, colour.
PUBLIC: dict[str, Edit] = {
    **{f"jpeg_q{q}": partial(encode, quality=q) for q in (30, 50, 70, 90)},
    "resize_0.5x": lambda im: encode(im.resize((im.width // 2, im.height // 2), Image.BILINEAR)),
    "resize_2x": lambda im: encode(im.resize((im.width * 2, im.height * 2), Image.BICUBIC)),
    "crop_centre_5": lambda im: encode(crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop_centre_10": lambda im: encode(crop(im, 0.10, 0.10, 0.10, 0.10)),
    # Off-centre: the same 10% / 20% of width and height removed, but from one corner's sides.
    "crop_offcentre_5": lambda im: encode(crop(im, 0.08, 0.02, 0.02, 0.08)),
    "crop_offcentre_10": lambda im: encode(crop(im, 0.16, 0.04, 0.04, 0.16)),
    "mirror": lambda im: encode(ImageOps.mirror(im)),
    "png": lambda im: encode(im, "PNG"),
    "webp": lambda im: encode(im, "WEBP", quality=80),
    "grayscale": lambda im: encode(ImageOps.grayscale(im)),
    "brightness+20": lambda im: encode(ImageEnhance.Brightness(im).enhance(1.2)),
    "brightness-20": lambda im: encode(ImageEnhance.Brightness(im).enhance(0.8)),
}

# The classes of issue 17, each in several strengths.
FRAMED: dict[str, Edit] = {
    "border_white_5": _then(partial(bordered, share=0.05, colour="white"), JPEG),
    "border_black_15": _then(partial(bordered, share=0.15, colour="black"), JPEG),
    "border_red_30": _then(partial(bordered, share=0.30, colour=(190, 20, 30)), JPEG),
    "page_0.8": _then(partial(on_page, scale=0.8), JPEG),
    "page_0.6": _then(partial(on_page, scale=0.6), JPEG),
    "page_0.5": _then(partial(on_page, scale=0.5), JPEG),
}
PADDED: dict[str, Edit] = {
    "pad_square_white": _then(partial(padded, aspect=1.0, colour="white"), JPEG),
    "pad_square_grey": _then(partial(padded, aspect=1.0, colour=(128, 128, 128)), JPEG),
    "pad_4x5_black": _then(partial(padded, aspect=0.8, colour="black"), JPEG),
    "pad_16x9_white": _then(partial(padded, aspect=16 / 9, colour="white"), JPEG),
}
HEAVY_CROPS: dict[str, Edit] = {
    "crop_centre_15": lambda im: encode(crop(im, 0.15, 0.15, 0.15, 0.15)),
    "crop_centre_20": lambda im: encode(crop(im, 0.20, 0.20, 0.20, 0.20)),
    "crop_centre_25": lambda im: encode(crop(im, 0.25, 0.25, 0.25, 0.25)),  # half of each side
    "crop_corner_30": lambda im: encode(crop(im, 0.0, 0.0, 0.30, 0.30)),
    "crop_corner_50": lambda im: encode(crop(im, 0.5, 0.5, 0.0, 0.0)),  # one quarter of it
    "crop_strip_40": lambda im: encode(crop(im, 0.0, 0.20, 0.0, 0.20)),
}
COVERED: dict[str, Edit] = {
    "logo_5": _then(partial(covered, kind="logo", area=0.05), JPEG),
    "logo_12": _then(partial(covered, kind="logo", area=0.12), JPEG),
    "tag_8": _then(partial(covered, kind="tag", area=0.08), JPEG),
    "tag_20": _then(partial(covered, kind="tag", area=0.20), JPEG),
    "band_10": _then(partial(covered, kind="band", area=0.10), JPEG),
    "band_20": _then(partial(covered, kind="band", area=0.20), JPEG),
    "watermark": _then(partial(covered, kind="watermark", area=0.2), JPEG),
}
ROTATED: dict[str, Edit] = {
    "rotate_90": _then(partial(rotated, quarter_turns=1), JPEG),
    "rotate_180": _then(partial(rotated, quarter_turns=2), JPEG),
    "rotate_270": _then(partial(rotated, quarter_turns=3), JPEG),
    "rotate_90_mirror": _then(partial(rotated, quarter_turns=1), ImageOps.mirror, JPEG),
}
COMBINED: dict[str, Edit] = {
    "pad_square+jpeg_q50": _then(
        partial(padded, aspect=1.0, colour="white"), partial(encode, quality=50)
    ),
    "crop_20+logo_8+resize_0.6": _then(
        lambda im: crop(im, 0.2, 0.1, 0.0, 0.1),
        partial(covered, kind="logo", area=0.08),
        _resized(0.6),
        JPEG,
    ),
    "border_10+mirror+webp": _then(
        partial(bordered, share=0.10, colour=(240, 240, 240)),
        ImageOps.mirror,
        lambda im: encode(im, "WEBP", quality=70),
    ),
    "page_0.7+band_10": _then(
        partial(covered, kind="band", area=0.10), partial(on_page, scale=0.7), JPEG
    ),
    "rotate_180+crop_10+grayscale": _then(
        partial(rotated, quarter_turns=2),
        lambda im: crop(im, 0.1, 0.1, 0.1, 0.1),
        ImageOps.grayscale,
        JPEG,
    ),
    "blur+brightness+pad_4x5": _then(
        lambda im: im.filter(ImageFilter.GaussianBlur(1.2)),
        lambda im: ImageEnhance.Brightness(im).enhance(1.15),
        partial(padded, aspect=0.8, colour=(250, 250, 250)),
        partial(encode, quality=70),
    ),
}

CLASSES: dict[str, dict[str, Edit]] = {
    "public": PUBLIC,
    "framed": FRAMED,
    "padded": PADDED,
    "heavy crop": HEAVY_CROPS,
    "covered": COVERED,
    "rotated": ROTATED,
    "combined": COMBINED,
}
ALL: dict[str, Edit] = {name: edit for edits in CLASSES.values() for name, edit in edits.items()}
