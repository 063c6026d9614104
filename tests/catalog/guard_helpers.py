"""Photos standing in for generated images, and the edits a re-uploader might make."""

import io
from pathlib import Path

from PIL import Image, ImageOps

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


EDITS = {
    "jpeg_q50": lambda im: encoded(im, quality=50),
    "half_size": lambda im: encoded(im.resize((im.width // 2, im.height // 2))),
    "centre_crop_10": lambda im: encoded(crop(im, 0.1, 0.1, 0.1, 0.1)),
    "off_centre_crop_5": lambda im: encoded(crop(im, 0.08, 0.02, 0.02, 0.08)),
    "mirror": lambda im: encoded(ImageOps.mirror(im)),
    # Matched by the mirrored orientation's local features (PDQ misses crops).
    "mirrored_centre_crop_10": lambda im: encoded(ImageOps.mirror(crop(im, 0.1, 0.1, 0.1, 0.1))),
    "grayscale_png": lambda im: encoded(ImageOps.grayscale(im), "PNG"),
}
