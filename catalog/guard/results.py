"""What a check finds, and what it knows of the image it checked."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog import fingerprints


@dataclass(frozen=True)
class GuardMatch:
    signal: str  # "xmp", "c2pa", "sha256", "pdq" or "local_features"
    entry_id: int | None = None  # the registry entry matched (None for metadata)
    bits: int | None = None  # Hamming distance, for hashes
    inliers: int | None = None  # matching local features, for local features
    source_type: str | None = None  # the declared IPTC source type, for metadata

    def describe(self) -> str:
        if self.signal in ("xmp", "c2pa"):
            what = "XMP" if self.signal == "xmp" else "C2PA manifest"
            return f"its {what} declares the digital source type '{self.source_type}'"
        how = {
            "sha256": "identical bytes",
            "pdq": f"PDQ hash {self.bits} of 256 bits away",
            "local_features": f"{self.inliers} matching local features in the same place",
        }[self.signal]
        return f"it matches generated image #{self.entry_id} ({how})"


@dataclass
class GuardVerdict:
    match: GuardMatch | None
    pdq: str | None = None  # the image's own hash, stored on the product image
    keypoints: list[str] = field(default_factory=list)  # its strongest local descriptors


@dataclass(frozen=True)
class ImageSeen:
    """What the guard knows of an image it checks (an upload, or a catalog image)."""

    sha256: str
    pdq: str | None
    query: fingerprints.QueryPrint | None = None  # all its signals, when computed
