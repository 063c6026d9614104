"""Checking untrusted image bytes before anything is written.

Every way in (admin, API, bulk import) calls `inspect_image`; it decodes the whole image once,
so a truncated file, a decompression bomb or a renamed text file is refused with a clear code.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

SUPPORTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@dataclass(frozen=True)
class InspectedImage:
    sha256: str
    width: int
    height: int
    format: str  # one of SUPPORTED_FORMATS
    image: Image.Image = field(repr=False, compare=False)  # decoded once, for the guard

    @property
    def extension(self) -> str:
        return SUPPORTED_FORMATS[self.format]


def _too_large(size: int) -> ValidationError:
    limit = settings.FIDELIS_MAX_UPLOAD_BYTES
    return ValidationError(
        f"The image is {size / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB.",
        code="file_too_large",
    )


def single_upload(files, field: str = "image"):
    """The one file part of a photo request, named `field`; any other file part is refused
    (each would be spooled and counted against the body limit for nothing)."""
    parts = [(name, upload) for name in files for upload in files.getlist(name)]
    if len(parts) > 1:
        raise ValidationError(
            f"Send one photo in the multipart field '{field}'; this request has "
            f"{len(parts)} file parts.",
            code="one_image_only",
        )
    if parts and parts[0][0] != field:
        raise ValidationError(
            f"Send the photo in the multipart field '{field}', not '{parts[0][0]}'.",
            code="no_image",
        )
    return parts[0][1] if parts else None


def read_upload(upload) -> bytes:
    """The bytes of an uploaded file, refused by its size before it is read into memory."""
    if upload is None:
        raise ValidationError(
            "Choose a photo to upload (multipart field 'image').", code="no_image"
        )
    if upload.size > settings.FIDELIS_MAX_UPLOAD_BYTES:
        raise _too_large(upload.size)
    return upload.read()


def inspect_image(data: bytes, *, draft: tuple[int, int] | None = None) -> InspectedImage:
    """Validate `data` as a JPEG, PNG or WebP image within the size limits.

    `draft`: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale, down to about this size (for a
    search that only needs a thumbnail); the whole file is still read, so damage is still found.
    Raises ValidationError with a machine-readable `code`.
    """
    if not data:
        raise ValidationError("The file is empty.", code="empty_file")
    if len(data) > settings.FIDELIS_MAX_UPLOAD_BYTES:
        raise _too_large(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            width, height = image.size
            if width * height > settings.FIDELIS_MAX_IMAGE_PIXELS:
                raise ValidationError(
                    f"The image is {width}x{height} pixels; the limit is "
                    f"{settings.FIDELIS_MAX_IMAGE_PIXELS:,} pixels.",
                    code="too_many_pixels",
                )
            if fmt not in SUPPORTED_FORMATS:
                raise ValidationError(
                    f"{fmt} images are not supported: upload a JPEG, PNG or WebP.",
                    code="unsupported_format",
                )
            if draft is not None:
                image.draft("RGB", draft)
            image.load()  # decodes every pixel: catches truncated and corrupt files
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fired while reading the header: far beyond our pixel limit.
        raise ValidationError(
            f"The image has too many pixels; the limit is "
            f"{settings.FIDELIS_MAX_IMAGE_PIXELS:,} pixels.",
            code="too_many_pixels",
        ) from None
    except UnidentifiedImageError:
        raise ValidationError(
            "The file is not an image we can read: upload a JPEG, PNG or WebP.", code="not_an_image"
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ValidationError(
            f"The image is damaged or truncated ({err}).", code="corrupt_image"
        ) from None
    return InspectedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        format=fmt,
        image=image,
    )
