"""What an image file says about its own origin: XMP and C2PA digital source types.

A file can declare that it was made by a generator even when it is not in our registry (made
elsewhere, or by us before a registry was wiped). Both ways of saying so are read here.
"""

from __future__ import annotations

import io
import json
import re

import c2pa
from PIL import Image

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# IPTC digital source types that mean "made (partly) by an algorithm or a trained model".
GENERATED_SOURCE_TYPES = {
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
}
_SOURCE_TYPE = re.compile(r"digitalsourcetype/([A-Za-z]+)")
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _xmp_text(image: Image.Image) -> str:
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    return xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)


def xmp_source_type(image: Image.Image) -> str | None:
    """The generated source type the XMP packet declares, if any."""
    for name in _SOURCE_TYPE.findall(_xmp_text(image)):
        if name in GENERATED_SOURCE_TYPES:
            return name
    return None


def c2pa_source_type(data: bytes, image_format: str) -> str | None:
    """The generated source type any C2PA action in the file declares, if any.

    The manifest's signature is not required to be trusted: a file that declares itself generated
    is refused whoever signed it.
    """
    if b"c2pa" not in data:  # no JUMBF manifest store: skip the parser (most uploads)
        return None
    try:
        with c2pa.Reader(_MIME.get(image_format, ""), io.BytesIO(data)) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError:
        return None
    for name in _SOURCE_TYPE.findall(json.dumps(store.get("manifests", {}))):
        if name in GENERATED_SOURCE_TYPES:
            return name
    return None


def declared_generated_source(data: bytes, image: Image.Image) -> tuple[str, str] | None:
    """("xmp" | "c2pa", source type) when the file declares itself generated."""
    if source := xmp_source_type(image):
        return "xmp", source
    if source := c2pa_source_type(data, image.format or ""):
        return "c2pa", source
    return None
