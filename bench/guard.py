"""Provenance-guard robustness: are edited copies of registered images refused, real photos passed?

  ./fidelis bench guard [--registered 500] [--real 3068] [--synthetic 500]

Real photos stand in for generated ones (a random-weight generator does not make natural images):
register `--registered` photos of the validation + test splits as if generated, try to import
edited copies of each (recall per edit), then check every train photo untouched (false
positives). `--synthetic` random registry entries are added before timing, so the check is timed
with registered + synthetic entries in the registry. Prints a table and writes
bench/results/guard.json.
"""

from __future__ import annotations

import argparse
import io
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
    from catalog.models import Merchant
    from catalog.services import generated_image_register

    merchant, _ = Merchant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    return [
        generated_image_register(
            merchant=merchant, data=p.read_bytes(), prompt=p.name, seed=0, model_identity="bench"
        )
        for p in tqdm(paths, desc="register", unit="img")
    ]


def add_synthetic_entries(count: int, seed: int = 0) -> None:
    """Random registry rows (hashes and keypoints), so timing sees a bigger registry."""
    import numpy as np

    from catalog.fingerprints import INDEXED_KEYPOINTS, descriptor_bits
    from catalog.models import GeneratedImage, Merchant, RegistryKeypoint

    rng = np.random.default_rng(seed)
    merchant = Merchant.objects.get(slug="bench")
    bits = lambda n: "".join(map(str, rng.integers(0, 2, n)))  # noqa: E731
    for start in tqdm(range(0, count, 500), desc="synthetic", unit="x500"):
        entries = GeneratedImage.objects.bulk_create(
            GeneratedImage(
                merchant=merchant,
                prompt="synthetic",
                seed=0,
                model_identity="synthetic",
                sha256=f"{rng.integers(0, 2**63):064x}",
                width=1,
                height=1,
                pdq=bits(256),
                pdq_mirror=bits(256),
                phash=bits(64),
                features=b"",
            )
            for _ in range(min(500, count - start))
        )
        RegistryKeypoint.objects.bulk_create(
            RegistryKeypoint(entry=entry, descriptor=d)
            for entry in entries
            for d in descriptor_bits(
                rng.integers(0, 256, (2 * INDEXED_KEYPOINTS, 32), dtype=np.uint8)
            )
        )


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
    random.seed(0)
    candidates = photos("validation", 341) + photos("test", 372)
    registered = sorted(random.sample(candidates, args.registered))
    real = photos("train", args.real)
    results = measure(registered, real)
    if args.synthetic:
        add_synthetic_entries(args.synthetic)
        timings = [check(p.read_bytes())[1] for p in tqdm(real[:200], desc="timing")]
        results[f"check_p50_ms_at_{args.registered + args.synthetic}"] = median(timings) * 1000
    rows = [
        (name, f"{a['recall']:.3f}", f"matched by {a['signals']}")
        for name, a in results["attacks"].items()
    ]
    rows += [
        ("false positives (real photos)", f"{results['false_positives']} / {len(real)}", "0"),
        (f"check p50 ms ({args.registered} registered)", f"{results['check_p50_ms']:.1f}", ""),
        ("check p95 ms", f"{results['check_p95_ms']:.1f}", ""),
    ]
    for key, value in results.items():
        if key.startswith("check_p50_ms_at_"):
            rows.append(
                (f"check p50 ms ({key.rsplit('_', 1)[1]} registered)", f"{value:.1f}", "<= 50")
            )
    print_table("Provenance guard: recall per edit (target >= 0.99)", rows)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registered", type=int, default=500)
    parser.add_argument("--real", type=int, default=3068)
    parser.add_argument("--synthetic", type=int, default=500)
    args = parser.parse_args()
    run_benchmark("guard", run, args, profile="tiny")


if __name__ == "__main__":
    main()
