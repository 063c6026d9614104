"""Provenance-guard robustness: are edited copies of registered images refused, real photos passed?

  ./fidelis bench guard [--registered 500] [--real 3068] [--scale 1000 100000] [--keep-db DIR]

Real photos stand in for generated ones (a random-weight generator does not make natural images):
register `--registered` photos of the validation + test splits as if generated, try to import
edited copies of each (recall per edit), then check every train photo untouched (false
positives). Then the registry is filled with random entries up to each `--scale` size and the
check is timed on real photos that match nothing (the slowest path). Prints a table and writes
bench/results/guard.json.

At 100,000 registered images the keypoint index holds 12.8M rows: its graph needs ~9 GB to
build in memory (FIDELIS_BENCH_BUILD_MEMORY, default 2GB; the build takes over an hour on 2
cores when it fits) and ~5 GB of shared_buffers to be searched from memory
(FIDELIS_PG_SHARED_BUFFERS=6GB). `--keep-db DIR` keeps that database for later runs, which
reuse its registry (a registry larger than a `--scale` size is timed at its own size).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from common import median, percentile, photos, print_table, run_benchmark
from PIL import Image, ImageEnhance, ImageOps
from tqdm import tqdm


def _encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB" if fmt == "JPEG" else image.mode).save(buffer, fmt, **options)
    return buffer.getvalue()


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float):
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


# Each edit takes the decoded original and returns the bytes a re-uploader would send.
ATTACKS: dict[str, Callable[[Image.Image], bytes]] = {
    **{f"jpeg_q{q}": partial(lambda im, q: _encode(im, quality=q), q=q) for q in (30, 50, 70, 90)},
    "resize_0.5x": lambda im: _encode(im.resize((im.width // 2, im.height // 2), Image.BILINEAR)),
    "resize_2x": lambda im: _encode(im.resize((im.width * 2, im.height * 2), Image.BICUBIC)),
    "crop_centre_5": lambda im: _encode(_crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop_centre_10": lambda im: _encode(_crop(im, 0.10, 0.10, 0.10, 0.10)),
    # Off-centre: the same 10% / 20% of width and height removed, but from one corner's sides.
    "crop_offcentre_5": lambda im: _encode(_crop(im, 0.08, 0.02, 0.02, 0.08)),
    "crop_offcentre_10": lambda im: _encode(_crop(im, 0.16, 0.04, 0.04, 0.16)),
    "mirror": lambda im: _encode(ImageOps.mirror(im)),
    "png": lambda im: _encode(im, "PNG"),
    "webp": lambda im: _encode(im, "WEBP", quality=80),
    "grayscale": lambda im: _encode(ImageOps.grayscale(im)),
    "brightness+20": lambda im: _encode(ImageEnhance.Brightness(im).enhance(1.2)),
    "brightness-20": lambda im: _encode(ImageEnhance.Brightness(im).enhance(0.8)),
}


def check(data: bytes):
    """The guard exactly as every way in runs it; returns (match or None, seconds)."""
    from catalog.guard import image_guard_check
    from catalog.images import inspect_image

    started = time.perf_counter()
    inspected = inspect_image(data)
    verdict = image_guard_check(data=data, image=inspected.image, sha256=inspected.sha256)
    return verdict.match, time.perf_counter() - started


def register(paths: list[Path]):
    """Register the photos as if generated; those a kept database already holds are reused."""
    from catalog.models import GeneratedImage, Merchant
    from catalog.services import generated_image_register

    merchant, _ = Merchant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    kept = {
        entry.sha256: entry
        for entry in GeneratedImage.objects.filter(merchant=merchant, model_identity="bench")
    }
    entries = []
    for path in tqdm(paths, desc="register", unit="img"):
        data = path.read_bytes()
        entries.append(
            kept.get(hashlib.sha256(data).hexdigest())
            or generated_image_register(
                merchant=merchant, data=data, prompt=path.name, seed=0, model_identity="bench"
            )
        )
    return entries


_SYNTHETIC_ENTRIES = """
INSERT INTO catalog_generatedimage (merchant_id, prompt, negative_prompt, seed, model_identity,
  created_at, sha256, width, height, pdq, pdq_mirror, phash, features, file)
SELECT %(merchant)s, 'synthetic', '', 0, 'synthetic', now(),
  md5(g || 'a' || %(after)s) || md5(g || 'b' || %(after)s), 1, 1,
  ('x' || md5(random()::text) || md5(random()::text))::bit(256),
  ('x' || md5(random()::text) || md5(random()::text))::bit(256),
  ('x' || left(md5(random()::text), 16))::bit(64), '', ''
FROM generate_series(1, %(count)s) g
"""
_SYNTHETIC_KEYPOINTS = """
INSERT INTO catalog_registrykeypoint (entry_id, descriptor, mirrored, x, y)
SELECT e.id, ('x' || md5(random()::text || k) || md5(random()::text || k))::bit(256),
  k > %(per_entry)s / 2, random() * 512, random() * 384
FROM catalog_generatedimage e CROSS JOIN generate_series(1, %(per_entry)s) k
WHERE e.model_identity = 'synthetic' AND e.id > %(after)s
"""
_REGISTRY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('catalog_generatedimage', 'catalog_registrykeypoint')
  AND indexdef LIKE '%USING hnsw%'
"""


def fill_registry_to(total: int) -> float | None:
    """Add random entries until the registry holds `total`; the seconds it took, or None when
    it already did (a kept database)."""
    from catalog.models import GeneratedImage

    missing = total - GeneratedImage.objects.count()
    return add_synthetic_entries(missing) if missing > 0 else None


def add_synthetic_entries(count: int) -> float:
    """Fill the registry with `count` random entries (hashes + 128 keypoints each), in SQL.

    The HNSW indexes are dropped and built again once, as a bulk load would. Random bits are
    the worst case for HNSW (no structure to exploit), so timings on them are conservative.
    Returns the seconds the load and index builds took.
    """
    from django.db import connection

    from catalog.fingerprints import INDEXED_KEYPOINTS
    from catalog.models import Merchant

    started = time.perf_counter()
    merchant = Merchant.objects.get(slug="bench").pk
    with connection.cursor() as cursor:
        memory = os.environ.get("FIDELIS_BENCH_BUILD_MEMORY", "2GB")
        cursor.execute("SET maintenance_work_mem = %s", [memory])
        cursor.execute("SET max_parallel_maintenance_workers = %s", [os.cpu_count() - 1])
        cursor.execute(_REGISTRY_INDEXES)
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SELECT coalesce(max(id), 0) FROM catalog_generatedimage")
        after = cursor.fetchone()[0]  # the new entries come after it
        cursor.execute(_SYNTHETIC_ENTRIES, {"merchant": merchant, "count": count, "after": after})
        cursor.execute(_SYNTHETIC_KEYPOINTS, {"per_entry": 2 * INDEXED_KEYPOINTS, "after": after})
        for _name, definition in tqdm(indexes, desc="build HNSW indexes"):
            cursor.execute(definition)
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def measure(registered_paths, real_paths, attacks=ATTACKS, progress=True) -> dict:
    entries = register(registered_paths)
    results = {"registered": len(entries), "real_photos": len(real_paths), "attacks": {}}
    timings = []
    for name, edit in attacks.items():
        refused, right_entry, distances, signals = 0, 0, [], {}
        for path, entry in tqdm(
            list(zip(registered_paths, entries, strict=True)), desc=name, disable=not progress
        ):
            match, seconds = check(edit(Image.open(path)))
            timings.append(seconds)
            if match is not None:
                refused += 1
                right_entry += match.entry_id == entry.pk
                distances.append(match.distance)
                signals[match.signal] = signals.get(match.signal, 0) + 1
        results["attacks"][name] = {
            "tried": len(entries),
            "recall": refused / len(entries),
            "matched_own_entry": right_entry / len(entries),
            "median_distance": median(distances) if distances else None,
            "signals": signals,
        }
    false_positives = []
    for path in tqdm(real_paths, desc="real photos", disable=not progress):
        match, seconds = check(path.read_bytes())
        timings.append(seconds)
        if match is not None:
            false_positives.append({"photo": str(path), "signal": match.signal})
    results["false_positives"] = len(false_positives)
    results["false_positive_examples"] = false_positives[:10]
    results["check_p50_ms"] = median(timings) * 1000
    results["check_p95_ms"] = percentile(timings, 95) * 1000
    return results


def run(args) -> dict:
    from catalog.models import GeneratedImage

    random.seed(0)
    candidates = photos("validation", 341) + photos("test", 372)
    registered = sorted(random.sample(candidates, args.registered))
    real = photos("train", args.real)
    attacks = {k: v for k, v in ATTACKS.items() if not args.attacks or k in args.attacks}
    results = measure(registered, real, attacks)
    for total in args.scale:
        load = fill_registry_to(total)
        if load is not None:
            print(f"registry filled to {total:,} entries in {load:.0f} s")
        size = GeneratedImage.objects.count()
        if size != total:  # a kept database that already holds more
            print(f"the registry holds {size:,} entries: timed at {size:,}, not {total:,}")
            total = size
        # Real photos that match nothing: the whole pipeline runs, the slowest path.
        timings = [check(p.read_bytes())[1] for p in tqdm(real[:200], desc=f"timing at {total}")]
        results[f"check_p50_ms_at_{total}"] = median(timings) * 1000
        results[f"check_p95_ms_at_{total}"] = percentile(timings, 95) * 1000
    rows = [
        (name, f"{a['recall']:.3f}", f"matched by {a['signals']}")
        for name, a in results["attacks"].items()
    ]
    rows += [
        ("false positives (real photos)", f"{results['false_positives']} / {len(real)}", "0"),
        (
            "check p50 / p95 ms, all checks above",
            f"{results['check_p50_ms']:.1f} / {results['check_p95_ms']:.1f}",
            "",
        ),
    ]
    for key, value in results.items():
        if key.startswith("check_p50_ms_at_"):
            size = int(key.rsplit("_", 1)[1])
            p95 = results[f"check_p95_ms_at_{size}"]
            label = f"check p50 / p95 ms, {size:,} registered"
            rows.append((label, f"{value:.1f} / {p95:.1f}", "p50 <= 50"))
    print_table("Provenance guard: recall per edit (target >= 0.99)", rows)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registered", type=int, default=500)
    parser.add_argument("--real", type=int, default=3068)
    parser.add_argument("--attacks", nargs="*", help="only these edits (default: all)")
    parser.add_argument(
        "--scale",
        type=int,
        nargs="*",
        default=[1000, 100_000],
        help="registry sizes to time the check at (filled with random entries)",
    )
    parser.add_argument(
        "--keep-db",
        type=Path,
        metavar="DIR",
        help="keep the database and media in DIR and reuse them in later runs: a registry "
        "filled to 100,000 entries takes about two hours to build",
    )
    args = parser.parse_args()
    run_benchmark("guard", run, args, profile="tiny", keep=args.keep_db)


if __name__ == "__main__":
    main()
