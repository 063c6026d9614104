"""The provenance guard: is this image one of our generated images, or does it say it is generated?

One check for every way into the catalog (admin, API, bulk import, re-checks). Cheapest first:
1. metadata: XMP or C2PA declaring an AI digital source type (even if not in our registry);
2. exact bytes (sha256);
3. global perceptual hashes (PDQ of the image and of its mirror, pHash) through HNSW;
4. local features: strong ORB descriptors vote for candidates through HNSW; a candidate whose
   votes agree on one placement of the image in it is matched with its full feature set and
   verified geometrically (survives crops).
Thresholds were calibrated with bench/guard.py on the shared clothing photos.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q, Subquery
from pgvector.django import HammingDistance
from PIL import Image

from catalog import fingerprints
from catalog.concurrent_reads import read_beside
from catalog.declared_source import declared_generated_source
from catalog.models import GeneratedImage, ProductImage

# PDQ: true copies (re-encode, resize, grayscale, brightness) land <= 31 of 256 bits; the nearest
# unrelated photo of 3,068 was 62 bits away.
PDQ_MATCH_BITS = 31
# pHash (64 bit): calibrated like PDQ; resized and re-encoded copies stay within a few bits.
PHASH_MATCH_BITS = 4
# Local features: each query descriptor asks for its 5 nearest indexed descriptors within 48 of
# 256 bits (true correspondences ~10-40, unrelated ~100); the 5 most voted (image, orientation)
# pairs are verified, each in that orientation only.
KEYPOINT_NEIGHBOURS = 5
KEYPOINT_MATCH_BITS = 48
CANDIDATES = 5
# A candidate needs this many votes to be verified: 500 copies cropped by 10% (centre and
# off-centre) gave their own entry >= 5 votes (1st percentile 9, median 34), while half the
# candidates of unrelated real photos had <= 4, whose verification this skips.
MIN_VOTES = 5
# The 10 most voted pairs are checked for one placement of the query in them, and verified in
# full only if >= 3 of their votes agree on it (fingerprints.placement_votes). Measured at 500
# registered: a copy cropped by 10% gets a median of 11 agreeing votes, and < 3 only where its
# own entry had < 5 votes anyway (3 of 1,000 copies); the candidates of 600 unrelated photos
# got 0-4 (94% <= 2), so the median unrelated photo is verified against nothing instead of
# 2-3 entries: a check at 100,000 registered took 57.9 instead of 65.5 ms (p50, one session).
VOTED_CANDIDATES = 10
MIN_PLACED_VOTES = 3
# A true correspondence sits far closer (10-40 bits) than anything else (~100), so a narrow HNSW
# search finds it: ef_search 16 instead of 40 cut the 64 lookups from 70 to ~40 ms at 10,000
# registered images (1.28M indexed descriptors); 10 instead of 16 from 16.5 to 13.2 ms at 1,000,
# with the same entries voted into the top 5 for 1,500 cropped copies. At 100,000 registered
# (12.8M), 10 missed 4 of 500 copies cropped by 10%, 16 missed 2 but took 43 instead of 29 ms
# a check: 10 stays (recall 0.992, bench/guard.py).
KEYPOINT_EF_SEARCH = 10
# Other registry lookups: pgvector's default breadth, the one they were calibrated with.
DEFAULT_EF_SEARCH = 40
# Geometric verification, calibrated on 480 edited copies and the 3,068 train photos. True copies:
# frame fit >= 0.998, correlation of the aligned thumbnails >= 0.92, and every copy under 0.95
# had >= 120 inliers. Different garments shot in the same place (same carpet, same hanger and
# wall) reached 62 inliers with a fit of 0.72, or 31 inliers with a fit of 0.95 and a correlation
# of 0.922: so below STRONG_CORRELATION a match also needs STRONG_INLIERS.
MIN_INLIERS = 20
MIN_FRAME_FIT = 0.9
MIN_CORRELATION = 0.9
STRONG_CORRELATION = 0.95
STRONG_INLIERS = 50


# Local features are computed on this pool (ORB releases the GIL) beside the global hashes.
_local_features = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fidelis-orb")


@dataclass(frozen=True)
class GuardMatch:
    signal: str  # "xmp", "c2pa", "sha256", "pdq", "phash" or "local_features"
    entry_id: int | None = None  # the registry entry matched (None for metadata)
    distance: float | None = None  # Hamming bits, or inliers for local features
    source_type: str | None = None  # the declared IPTC source type, for metadata

    def describe(self) -> str:
        if self.signal in ("xmp", "c2pa"):
            what = "XMP" if self.signal == "xmp" else "C2PA manifest"
            return f"its {what} declares the digital source type '{self.source_type}'"
        how = {
            "sha256": "identical bytes",
            "pdq": f"PDQ hash {self.distance:.0f} of 256 bits away",
            "phash": f"pHash {self.distance:.0f} of 64 bits away",
            "local_features": f"{self.distance:.0f} matching local features after a crop or resize",
        }[self.signal]
        return f"it matches generated image #{self.entry_id} ({how})"


@dataclass
class GuardVerdict:
    match: GuardMatch | None
    pdq: str | None = None  # the image's own hashes, stored on the product image
    phash: str | None = None
    keypoints: list[str] = field(default_factory=list)  # its strongest local descriptors


def image_guard_check(*, data: bytes, image: Image.Image, sha256: str) -> GuardVerdict:
    """Check one decoded image; never writes. `data` are the file's bytes, for its metadata."""
    declared = declared_generated_source(data, image)
    if declared:
        return GuardVerdict(GuardMatch(signal=declared[0], source_type=declared[1]))
    exact = GeneratedImage.objects.filter(sha256=sha256).values_list("pk", flat=True).first()
    if exact:
        return GuardVerdict(GuardMatch(signal="sha256", entry_id=exact, distance=0))
    rgb = fingerprints.normalised(image.convert("RGB"))
    # Local features are computed even when a global hash matched: a passed image keeps them.
    # ORB runs on a second core while this one hashes and looks the hashes up (p50 at 100,000
    # registered 49.8 -> 48.4 ms alone, 35.5 -> 33.6 ms with the split lookups below).
    local_features = _local_features.submit(fingerprints.orientation, rgb.convert("L"))
    pdq, phash = fingerprints.global_hashes(rgb)
    match = global_hash_match(pdq=pdq, phash=phash)
    query = local_features.result()
    seen = ImageSeen(sha256=sha256, pdq=pdq, phash=phash, query=query)
    if match is not None and is_its_real_source(seen, match):
        match = None
    if match is None:
        match = local_feature_match(query)
        if match is not None and is_its_real_source(seen, match):
            match = None
    return GuardVerdict(match, pdq=pdq, phash=phash, keypoints=query.indexed)


@contextmanager
def _hnsw_lookups(*, ef_search: int):
    """A cursor for plain nearest-neighbour lookups in the registry's bit indexes.

    Sets what search sessions set otherwise (retrieval/session.py): no iterative scan (these
    lookups have no filter to scan past, and on bit indexes it failed with "cannot load
    deleted element" after deletes, pgvector 0.8) and the guard's own search breadth.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL hnsw.iterative_scan = off; SET LOCAL hnsw.ef_search = {ef_search:d}"
        )
        yield cursor


_GLOBAL_SQL = """
(SELECT id, 'pdq', pdq <~> %(pdq)s::bit(256) FROM catalog_generatedimage
  ORDER BY pdq <~> %(pdq)s::bit(256) LIMIT 1)
UNION ALL
(SELECT id, 'pdq', pdq_mirror <~> %(pdq)s::bit(256) FROM catalog_generatedimage
  ORDER BY pdq_mirror <~> %(pdq)s::bit(256) LIMIT 1)
UNION ALL
(SELECT id, 'phash', phash <~> %(phash)s::bit(64) FROM catalog_generatedimage
  ORDER BY phash <~> %(phash)s::bit(64) LIMIT 1)
"""


def global_hash_match(*, pdq: str, phash: str) -> GuardMatch | None:
    """The nearest registered image by PDQ (either orientation) or pHash, if close enough."""
    limits = {"pdq": PDQ_MATCH_BITS, "phash": PHASH_MATCH_BITS}
    with _hnsw_lookups(ef_search=DEFAULT_EF_SEARCH) as cursor:
        cursor.execute(_GLOBAL_SQL, {"pdq": pdq, "phash": phash})
        rows = cursor.fetchall()
    hits = [(distance, signal, pk) for pk, signal, distance in rows if distance <= limits[signal]]
    if not hits:
        return None
    distance, signal, pk = min(hits)
    return GuardMatch(signal=signal, entry_id=pk, distance=distance)


# Each query descriptor takes its nearest indexed descriptors within reach: one row per vote,
# naming the voting descriptor (its 0-based row in the query) and the keypoint it voted for.
_VOTE_ROWS_SQL = """
SELECT q.number - 1 + %(first)s, k.{owner}, k.mirrored, k.x, k.y
FROM unnest(%(descriptors)s::bit(256)[]) WITH ORDINALITY AS q(descriptor, number)
CROSS JOIN LATERAL (
  SELECT {owner}, {mirrored} AS mirrored, {x} AS x, {y} AS y,
    descriptor <~> q.descriptor AS distance
  FROM {table} ORDER BY descriptor <~> q.descriptor LIMIT %(neighbours)s
) AS k
WHERE k.distance <= %(max_bits)s
"""


@dataclass(frozen=True)
class Votes:
    """The keypoints of one (owner, orientation) that a query's descriptors voted for."""

    owner_id: int
    mirrored: bool
    queries: list[int]  # the voting descriptor of each vote (its row in the query)
    points: list[tuple[float, float]]  # the position of the keypoint it voted for


def _keypoint_votes(
    descriptors: list[str],
    *,
    table: str,
    owner: str,
    positioned: bool = False,
    ef_search: int = DEFAULT_EF_SEARCH,
    candidates: int = CANDIDATES,
) -> list[Votes]:
    """The (owner, orientation) pairs of the keypoint `table` most voted for by `descriptors`,
    with >= MIN_VOTES votes, most voted first (then by owner, upright first).
    A `positioned` table records each keypoint's orientation and position (the registry);
    the other one holds upright keypoints of unknown position."""
    if not descriptors:
        return []
    columns = (
        {"mirrored": "mirrored", "x": "x", "y": "y"}
        if positioned
        else {"mirrored": "false", "x": "0.0", "y": "0.0"}
    )
    sql = _VOTE_ROWS_SQL.format(table=table, owner=owner, **columns)

    def vote_rows(first: int, last: int) -> list[tuple]:
        with _hnsw_lookups(ef_search=ef_search) as cursor:
            cursor.execute(
                sql,
                {
                    "descriptors": descriptors[first:last],
                    "first": first,
                    "neighbours": KEYPOINT_NEIGHBOURS,
                    "max_bits": KEYPOINT_MATCH_BITS,
                },
            )
            return cursor.fetchall()

    # Half of the lookups run in a second session, on the other core: a check at 100,000
    # registered took 35.5 instead of 49.8 ms (p50, 200 unrelated photos, alternating).
    half = len(descriptors) // 2
    second_half = read_beside(vote_rows, half, len(descriptors))
    rows = vote_rows(0, half) + second_half.result()
    by_pair: dict[tuple[int, bool], list[tuple]] = defaultdict(list)
    for query_row, owner_id, mirrored, x, y in sorted(rows):
        by_pair[owner_id, mirrored].append((query_row, (x, y)))
    ranked = sorted(
        (pair for pair, votes in by_pair.items() if len(votes) >= MIN_VOTES),
        key=lambda pair: (-len(by_pair[pair]), pair),
    )
    return [
        Votes(
            owner_id,
            mirrored,
            [query_row for query_row, _ in by_pair[owner_id, mirrored]],
            [point for _, point in by_pair[owner_id, mirrored]],
        )
        for owner_id, mirrored in ranked[:candidates]
    ]


def local_feature_candidates(query: fingerprints.Orientation) -> list[tuple[int, bool]]:
    """(registry entry, mirrored) pairs to verify for a query image, best first.

    A cropped copy votes for the orientation it was cut from, and its votes agree on one
    placement of the copy in it; an unrelated photo's few votes land anywhere. So the most
    voted pairs are kept only when enough of their votes fit one similarity transform.
    """
    voted = _keypoint_votes(
        query.indexed,
        table="catalog_registrykeypoint",
        owner="entry_id",
        positioned=True,
        ef_search=KEYPOINT_EF_SEARCH,
        candidates=VOTED_CANDIDATES,
    )
    query_points = query.indexed_points
    placed = []
    for votes in voted:
        agreeing = fingerprints.placement_votes(query_points[votes.queries], votes.points)
        if agreeing >= MIN_PLACED_VOTES:
            placed.append((-agreeing, votes.owner_id, votes.mirrored))
    return [(owner_id, mirrored) for _, owner_id, mirrored in sorted(placed)[:CANDIDATES]]


def is_verified(match: fingerprints.GeometricMatch | None) -> bool:
    return (
        match is not None
        and match.inliers >= MIN_INLIERS
        and match.frame_fit >= MIN_FRAME_FIT
        and match.correlation >= MIN_CORRELATION
        and (match.correlation >= STRONG_CORRELATION or match.inliers >= STRONG_INLIERS)
    )


def local_feature_match(query: fingerprints.Orientation) -> GuardMatch | None:
    candidates = local_feature_candidates(query)
    if not candidates:
        return None
    blobs = dict(
        GeneratedImage.objects.filter(pk__in={pk for pk, _ in candidates}).values_list(
            "pk", "features"
        )
    )
    best = None
    for pk, mirrored in candidates:
        if not blobs.get(pk):
            continue
        side = "mirrored" if mirrored else "upright"
        found = fingerprints.geometric_match(
            query, fingerprints.load_orientation(bytes(blobs[pk]), side)
        )
        if is_verified(found) and (best is None or found.inliers > best.distance):
            best = GuardMatch(signal="local_features", entry_id=pk, distance=found.inliers)
    return best


@dataclass(frozen=True)
class ImageSeen:
    """What the guard knows of an image it checks (an upload, or a catalog image)."""

    sha256: str
    pdq: str | None
    phash: str | None
    query: fingerprints.Orientation | None = None  # local features, when computed


def is_its_real_source(seen: ImageSeen, match: GuardMatch) -> bool:
    """Whether `seen` is the real product photo an image-to-image concept was made from.

    A close variation (high fidelity) looks like its source: without this rule, making one
    would quarantine the merchant's real photo and refuse it on every later upload. The photo
    (or a copy of it) is strictly closer to the source than to the concept; the concept itself,
    or a copy of it, is at least as close to the concept. Ties go to the guard.
    """
    if match.entry_id is None or match.signal == "sha256":
        return False
    source_id = GeneratedImage.objects.filter(pk=match.entry_id).values("source_image_id")
    source = (
        ProductImage.objects.filter(pk=Subquery(source_id))
        .only("sha256", "pdq", "phash", "file")
        .first()
    )
    if source is None:
        return False
    if source.sha256 == seen.sha256:
        return True
    if match.signal == "pdq" and source.pdq and seen.pdq:
        return _hamming(source.pdq, seen.pdq) < match.distance
    if match.signal == "phash" and source.phash and seen.phash:
        return _hamming(source.phash, seen.phash) < match.distance
    if match.signal == "local_features" and seen.query is not None:
        found = fingerprints.geometric_match(seen.query, _stored_image_features(source))
        return is_verified(found) and found.inliers > match.distance
    return False


def _stored_image_features(image: ProductImage) -> fingerprints.Orientation:
    """Local features of a catalog image, from its stored file (they are not kept whole)."""
    with image.file.open("rb") as fh:
        decoded = Image.open(fh)
        decoded.load()
    return fingerprints.orientation(fingerprints.normalised(decoded.convert("RGB")).convert("L"))


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def catalog_images_matching(*, entry: GeneratedImage) -> list[tuple[ProductImage, GuardMatch]]:
    """Passed catalog images that match one registry entry: bytes, global hashes, or local
    features (a catalog photo that is a crop of the generated image)."""
    bits = {"pdq": PDQ_MATCH_BITS, "phash": PHASH_MATCH_BITS}
    by_distance = (
        ProductImage.objects.filter(guard_status=ProductImage.GuardStatus.PASSED)
        .annotate(
            pdq_bits=HammingDistance("pdq", entry.pdq),
            mirror_bits=HammingDistance("pdq", entry.pdq_mirror),
            phash_bits=HammingDistance("phash", entry.phash),
        )
        .filter(
            Q(sha256=entry.sha256)
            | Q(pdq_bits__lte=bits["pdq"])
            | Q(mirror_bits__lte=bits["pdq"])
            | Q(phash_bits__lte=bits["phash"])
        )
    )
    found = []
    for image in by_distance:
        # Images without stored hashes give NULL distances (None): they match by sha256 only.
        pdq_bits = min(
            (d for d in (image.pdq_bits, image.mirror_bits) if d is not None), default=None
        )
        if image.sha256 == entry.sha256:
            match = GuardMatch(signal="sha256", entry_id=entry.pk, distance=0)
        elif pdq_bits is not None and pdq_bits <= bits["pdq"]:
            match = GuardMatch(signal="pdq", entry_id=entry.pk, distance=pdq_bits)
        else:
            match = GuardMatch(signal="phash", entry_id=entry.pk, distance=image.phash_bits)
        found.append((image, match, None))
    found_ids = {image.pk for image, _, _ in found}
    for image, query, inliers in _catalog_crops_of(entry, exclude=found_ids):
        match = GuardMatch(signal="local_features", entry_id=entry.pk, distance=inliers)
        found.append((image, match, query))
    return [
        (image, match)
        for image, match, query in found
        if not is_its_real_source(
            ImageSeen(sha256=image.sha256, pdq=image.pdq, phash=image.phash, query=query), match
        )
    ]


def _catalog_crops_of(entry: GeneratedImage, *, exclude: set[int]):
    """The reverse of `local_feature_match`: the entry's keypoints vote for catalog images,
    whose own features (computed from their file) are verified against the entry."""
    if not entry.features:
        return
    descriptors = list(entry.keypoints.values_list("descriptor", flat=True))
    voted = _keypoint_votes(descriptors, table="catalog_productimagekeypoint", owner="image_id")
    candidates = [votes.owner_id for votes in voted if votes.owner_id not in exclude]
    references = fingerprints.load_features(bytes(entry.features)).values()
    passed = ProductImage.objects.filter(
        pk__in=candidates, guard_status=ProductImage.GuardStatus.PASSED
    )
    for image in passed:
        query = _stored_image_features(image)
        matches = [fingerprints.geometric_match(query, reference) for reference in references]
        verified = [m for m in matches if is_verified(m)]
        if verified:
            yield image, query, max(m.inliers for m in verified)
