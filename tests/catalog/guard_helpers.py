"""Photos standing in for generated images, and the edits a re-uploader might make."""

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from catalog.models import GeneratedImage, Merchant
from catalog.services import generated_image_register


def register_as_generated(photo: Path, merchant: Merchant, **fields) -> GeneratedImage:
    values = {"prompt": "a red summer dress", "seed": 7, "model_identity": "tests"} | fields
    return generated_image_register(merchant=merchant, data=photo.read_bytes(), **values)


def encoded(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def crop(image: Image.Image, left: float, top: float, right: float, bottom: float):
    w, h = image.size
    return image.crop((int(w * left), int(h * top), int(w * (1 - right)), int(h * (1 - bottom))))


def padded_square(image: Image.Image, colour="white") -> Image.Image:
    side = max(image.size)
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(image.convert("RGB"), ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def on_page(image: Image.Image, scale: float = 0.6) -> Image.Image:
    """A scaled-down copy on a grainy page with lines of 'text' under it (not a plain border)."""
    w, h = image.size
    page = Image.blend(
        Image.effect_noise((w, h), 16).convert("RGB"), Image.new("RGB", (w, h), "beige"), 0.8
    )
    inner = image.convert("RGB").resize((round(w * scale), round(h * scale)))
    page.paste(inner, (w // 10, h // 12))
    draw = ImageDraw.Draw(page)
    for y in range(h // 12 + inner.height + 10, h - 8, 14):
        draw.rectangle((12, y, w - 30, y + 5), fill=(70, 70, 80))
    return page


def with_badge(image: Image.Image, share: float = 0.12) -> Image.Image:
    """An opaque badge over `share` of the image, in its top right corner."""
    out = image.convert("RGB").copy()
    w, h = out.size
    side = round((w * h * share) ** 0.5)
    ImageDraw.Draw(out).rectangle((w - side, 0, w, side), fill=(200, 30, 40))
    return out


EDITS = {
    "jpeg_q50": lambda im: encoded(im, quality=50),
    "half_size": lambda im: encoded(im.resize((im.width // 2, im.height // 2))),
    "centre_crop_10": lambda im: encoded(crop(im, 0.1, 0.1, 0.1, 0.1)),
    "off_centre_crop_5": lambda im: encoded(crop(im, 0.08, 0.02, 0.02, 0.08)),
    "mirror": lambda im: encoded(ImageOps.mirror(im)),
    # Matched by the mirrored orientation's local features (PDQ misses crops).
    "mirrored_centre_crop_10": lambda im: encoded(ImageOps.mirror(crop(im, 0.1, 0.1, 0.1, 0.1))),
    "grayscale_png": lambda im: encoded(ImageOps.grayscale(im), "PNG"),
    # Issue 17's classes: padded, framed, covered, turned, cropped harder.
    "padded_square": lambda im: encoded(padded_square(im)),
    "framed_on_page": lambda im: encoded(on_page(im)),
    "badge_in_corner": lambda im: encoded(with_badge(im)),
    "quarter_turn": lambda im: encoded(im.rotate(90, expand=True)),
    "centre_crop_20": lambda im: encoded(crop(im, 0.2, 0.2, 0.2, 0.2)),
}
