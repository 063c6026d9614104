"""Provenance-guard robustness: are edited copies of registered images refused, real photos passed?

  ./fidelis bench guard [--registered 500] [--real 3068] [--edits NAME ...] [--no-all-pairs]
                        [--scale 1000 100000] [--keep-db DIR]

Real photos stand in for generated ones (a random-weight generator does not make natural images):
1. register `--registered` photos of the validation + test splits as if generated and try to
   import edited copies of each (bench/edits.py: recall, bits or inliers, ms per edit; each
   copy let through counted as "not voted", its entry never a candidate, or "not verified");
2. check every train photo untouched (false refusals);
3. all pairs: register every photo of the shared set and check each against all the others (its
   own entry hidden), so every pair of different real photos is tried (~7.1M pairs); then the
   keypoint index of that registry (242k rows) against an exact search, on hard copies;
4. the registry's size per 1,000 registered real photos, table by table (on the photos of
   step 1 with --no-all-pairs);
5. fill the registry with random entries up to each `--scale` size and time the check on real
   photos that match nothing (the slowest path).
Prints a table and writes bench/results/guard.json.

At 100,000 registered images the keypoint index holds 5.6M rows: its graph needs ~4.5 GB to
build in memory (FIDELIS_BENCH_BUILD_MEMORY, default 2GB) and ~3 GB of shared_buffers to be
searched from memory (FIDELIS_PG_SHARED_BUFFERS=4GB). `--keep-db DIR` keeps that database for
later runs, which reuse its registry (a registry larger than a `--scale` size is timed at its own
size).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import time
from collections import Counter
from pathlib import Path

import edits
from common import DATASET, median, percentile, photos, print_table, run_benchmark, write_json
from PIL import Image
from tqdm import tqdm

# The pairs of different files in the shared set that are real copies, and must match:
# - one photo filed twice under two names (PDQ 2 bits apart);
# - one photo of a dress on a wardrobe door and a resized crop of it: their matches fit one
#   similarity transform of scale 1.000 (normalised) to 0.9 px, no perspective, and the aligned
#   pixels agree at 0.98 (two shots of one unmoved garment: 1.3-2.3 px, agreement <= 0.97).
REAL_COPIES = [
    {"train/shorts/6075b4a5", "train/skirt/637a56e4"},
    {"train/dress/b59e4d4a", "train/dress/e6a8b33f"},
]


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
  created_at, sha256, width, height, pdq, pdq_trimmed, features, file)
SELECT %(merchant)s, 'synthetic', '', 0, 'synthetic', now(),
  md5(g || 'a' || %(after)s) || md5(g || 'b' || %(after)s), 1, 1, h.pdq, NULL, '', ''
FROM generate_series(1, %(count)s) g,
  LATERAL (SELECT ('x' || md5(random()::text || g) || md5(random()::text))::bit(256) AS pdq) h
"""
_SYNTHETIC_KEYPOINTS = """
INSERT INTO catalog_registrykeypoint (entry_id, descriptor, x, y)
SELECT e.id, ('x' || md5(random()::text || k) || md5(random()::text || k))::bit(256),
  round(random() * 512), round(random() * 384)
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
    """Fill the registry with `count` random entries (a hash, the same as trimmed hash, and
    REGISTERED_KEYPOINTS keypoints each), in SQL.

    The HNSW indexes are dropped and built again once, as a bulk load would. Random bits are
    the worst case for HNSW (no structure to exploit), so timings on them are conservative.
    Returns the seconds the load and index builds took.
    """
    from django.db import connection

    from catalog.fingerprints import REGISTERED_KEYPOINTS
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
        cursor.execute(_SYNTHETIC_KEYPOINTS, {"per_entry": REGISTERED_KEYPOINTS, "after": after})
        for _name, definition in tqdm(indexes, desc="build HNSW indexes"):
            cursor.execute(definition)
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def miss_reason(data: bytes, entry) -> str:
    """Why an edited copy of `entry` passed: "not voted" (the check never verified its entry:
    neither its keypoints' votes nor its PDQ put it among the candidates) or "not verified"
    (verified, and its geometry or pixels fell short)."""
    from catalog import fingerprints
    from catalog.guard import candidates_to_verify
    from catalog.guard.registry import nearest_by_pdq
    from catalog.images import inspect_image

    query = fingerprints.query_print(inspect_image(data).image)
    candidates = candidates_to_verify(query, nearest_by_pdq(query))
    return "not verified" if any(pk == entry.pk for pk, _ in candidates) else "not voted"


def _edit_result(matches: list, entries: list, seconds: list[float], misses: Counter) -> dict:
    found = [(m, e) for m, e in zip(matches, entries, strict=True) if m is not None]
    signals: dict[str, int] = {}
    for match, _ in found:
        signals[match.signal] = signals.get(match.signal, 0) + 1
    bits = [m.bits for m, _ in found if m.bits is not None and m.signal == "pdq"]
    inliers = [m.inliers for m, _ in found if m.inliers is not None]
    return {
        "tried": len(entries),
        "recall": len(found) / len(entries),
        "matched_own_entry": sum(m.entry_id == e.pk for m, e in found) / len(entries),
        "median_bits": median(bits) if bits else None,
        "median_inliers": median(inliers) if inliers else None,
        "check_p50_ms": median(seconds) * 1000,
        "signals": signals,
        "misses_not_voted": misses["not voted"],
        "misses_not_verified": misses["not verified"],
    }


def measure(registered_paths, real_paths, edit_set=None, progress=True) -> dict:
    """Recall per edit on copies of the registered photos, false refusals on the real ones."""
    edit_set = edit_set or edits.ALL
    entries = register(registered_paths)
    results = {"registered": len(entries), "real_photos": len(real_paths), "edits": {}}
    timings = []
    for name, edit in edit_set.items():
        matches, seconds, misses = [], [], Counter()
        for path, entry in tqdm(
            zip(registered_paths, entries, strict=True),
            total=len(entries),
            desc=name,
            disable=not progress,
        ):
            data = edit(Image.open(path))
            match, took = check(data)
            matches.append(match)
            seconds.append(took)
            if match is None:
                misses[miss_reason(data, entry)] += 1
        timings += seconds
        results["edits"][name] = _edit_result(matches, entries, seconds, misses)
    false_positives, real_timings = [], []
    for path in tqdm(real_paths, desc="real photos", disable=not progress):
        match, seconds = check(path.read_bytes())
        real_timings.append(seconds)
        if match is not None:
            false_positives.append({"photo": _name(path), "signal": match.signal})
    results["false_positives"] = len(false_positives)
    results["false_positive_examples"] = false_positives[:10]
    # A real photo matches nothing: the slowest path, and the one most checks take (an import).
    if real_timings:
        results["real_check_p50_ms"] = median(real_timings) * 1000
    timings += real_timings
    results["check_p50_ms"] = median(timings) * 1000
    results["check_p95_ms"] = percentile(timings, 95) * 1000
    return results


def _name(path: Path) -> str:
    """split/category/first 8 characters of the file name: how the issues name photos."""
    relative = path.relative_to(DATASET)
    return f"{relative.parent}/{relative.name[:8]}"


def check_without_own_entry(path: Path, entry):
    """The check of a registered photo with its own entry hidden: deleted inside a transaction
    that is rolled back, so every other entry is tried exactly as in production."""
    from django.db import transaction

    from catalog.models import GeneratedImage

    with transaction.atomic():
        GeneratedImage.objects.filter(pk=entry.pk).delete()
        match, _seconds = check(path.read_bytes())
        transaction.set_rollback(True)
    return match


def all_pairs(paths: list[Path], progress=True) -> dict:
    """Every photo registered, each checked against all the others: the false pairs among all
    pairs of different real photos (the REAL_COPIES must match, and are not counted)."""
    entries = register(paths)
    name_of = {entry.pk: _name(path) for path, entry in zip(paths, entries, strict=True)}
    false_pairs, copies_found = [], 0
    for path, entry in tqdm(
        list(zip(paths, entries, strict=True)), desc="all pairs", disable=not progress
    ):
        match = check_without_own_entry(path, entry)
        if match is None:
            continue
        pair = {_name(path), name_of.get(match.entry_id, "?")}
        if pair in REAL_COPIES:
            copies_found += 1
        else:
            false_pairs.append({"pair": sorted(pair), "signal": match.signal})
    checked = len(paths) * (len(paths) - 1) // 2  # each unordered pair, tried both ways
    return {
        "photos": len(paths),
        "all_pairs_checked": checked,
        "all_pairs_false": len(false_pairs),
        "false_pair_examples": false_pairs[:10],
        "real_copies_matched": copies_found,  # 2 a pair when both photos find each other
        "real_copies": 2 * len(REAL_COPIES),
    }


# The edits whose copies keep fewest of their entry's keypoints: what the index must not lose.
KEYPOINT_PROBE_EDITS = ("crop_centre_25", "page_0.5", "crop_corner_50")


def keypoint_index_recall(paths: list[Path], entries: list, count: int, progress=True) -> dict:
    """The keypoint index against an exact search, on the registry all pairs built (every
    photo's keypoints): the votes that hard copies of `count` photos give their own entry, found
    by the guard's lookup (its SQL and search breadth) and by comparing every indexed keypoint."""
    import numpy as np
    from django.db import connection

    from catalog import fingerprints
    from catalog.guard import registry
    from catalog.guard import thresholds as t

    with connection.cursor() as cursor:
        cursor.execute("SELECT entry_id, descriptor::text FROM catalog_registrykeypoint")
        owners, bit_strings = zip(*cursor.fetchall(), strict=True)
    owners = np.array(owners)
    indexed = np.frombuffer("".join(bit_strings).encode(), np.uint8).reshape(len(owners), -1)
    indexed = (indexed - ord("0")).astype(np.float32)
    ones = indexed.sum(axis=1)

    def exact_owners(bits: list[str]) -> np.ndarray:
        query = np.frombuffer("".join(bits).encode(), np.uint8).reshape(len(bits), -1)
        query = (query - ord("0")).astype(np.float32)
        distances = query.sum(axis=1)[:, None] + ones[None, :] - 2 * (query @ indexed.T)
        nearest = np.argpartition(distances, t.KEYPOINT_NEIGHBOURS, axis=1)
        nearest = nearest[:, : t.KEYPOINT_NEIGHBOURS]
        close = np.take_along_axis(distances, nearest, axis=1) <= t.KEYPOINT_MATCH_BITS
        return owners[nearest[close]]

    sql = registry._VOTE_ROWS_SQL.format(
        table="catalog_registrykeypoint", owner="entry_id", x="x", y="y"
    )
    found = exact = 0
    seconds = []
    chosen = random.Random(1).sample(range(len(paths)), count)
    for index in tqdm(chosen, desc="keypoint index", disable=not progress):
        image = Image.open(paths[index])
        for name in KEYPOINT_PROBE_EDITS:
            copy = Image.open(io.BytesIO(edits.ALL[name](image)))
            bits = fingerprints.query_print(copy).sides[False].indexed
            if not bits:  # a copy too plain for keypoints: nothing to look up either way
                continue
            started = time.perf_counter()
            with registry.index_lookups(ef_search=t.KEYPOINT_EF_SEARCH) as cursor:
                cursor.execute(
                    sql,
                    {
                        "descriptors": bits,
                        "first": 0,
                        "neighbours": t.KEYPOINT_NEIGHBOURS,
                        "max_bits": t.KEYPOINT_MATCH_BITS,
                    },
                )
                rows = cursor.fetchall()
            seconds.append(time.perf_counter() - started)
            found += sum(owner == entries[index].pk for _, owner, _, _ in rows)
            exact += int((exact_owners(bits) == entries[index].pk).sum())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'keypoint_descriptor_hnsw'"
        )
        definition = cursor.fetchone()[0]
    return {
        "keypoint_index": definition.split(" USING ")[1],
        "keypoint_index_rows": len(owners),
        "keypoint_own_votes_found": found,
        "keypoint_own_votes_exact": exact,
        "keypoint_lookup_p50_ms": median(seconds) * 1000,
    }


_SIZES_SQL = """
SELECT c.relname, pg_relation_size(c.oid) + coalesce(pg_total_relation_size(c.reltoastrelid), 0)
FROM pg_class c WHERE c.relname = ANY(%(tables)s)
UNION ALL
SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = ANY(%(tables)s)
"""


def registry_size() -> dict:
    """MB per 1,000 registered entries, relation by relation. What a check reads on every call
    (the keypoint table, its indexes, the PDQ index) must stay in memory; the features blobs
    (TOAST) are read only for the few candidates a check verifies."""
    from django.db import connection

    from catalog.models import GeneratedImage

    tables = ["catalog_generatedimage", "catalog_registrykeypoint"]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE catalog_generatedimage")
        cursor.execute("VACUUM ANALYZE catalog_registrykeypoint")
        cursor.execute(_SIZES_SQL, {"tables": tables})
        sizes = dict(cursor.fetchall())
        cursor.execute(
            "SELECT pg_relation_size('catalog_generatedimage'),"
            " coalesce(pg_total_relation_size(reltoastrelid), 0)"
            " FROM pg_class WHERE relname = 'catalog_generatedimage'"
        )
        entry_heap, entry_toast = cursor.fetchone()
    per_1000 = 1000 / GeneratedImage.objects.count() / 1e6
    relations = {name: round(size * per_1000, 2) for name, size in sizes.items()}
    relations["catalog_generatedimage"] = round(entry_heap * per_1000, 2)
    relations["catalog_generatedimage (features, TOAST)"] = round(entry_toast * per_1000, 2)
    in_memory = sum(v for k, v in relations.items() if "TOAST" not in k)
    return {
        "relations_mb_per_1000": relations,
        "registry_mb_per_1000": round(in_memory, 2),
        "registry_mb_per_1000_with_features": round(sum(relations.values()), 2),
    }


def _rate_per_check(false_pairs: int, pairs: int, registered: int) -> tuple[float, float]:
    """(measured, 95% upper bound) false refusals per check implied at `registered` entries: a
    check meets every entry, and each (photo, entry) pair of different photos is false with the
    measured rate. With 0 false pairs in n the upper bound of that rate is 3 / n (rule of three)."""
    checked = 2 * pairs  # both directions of each pair were checked
    rate, bound = false_pairs / checked, max(3, false_pairs) / checked
    return 1 - (1 - rate) ** registered, 1 - (1 - bound) ** registered


def _rows(results: dict) -> list[tuple[str, str, str]]:
    rows = []
    for group, names in edits.CLASSES.items():
        for name in names:
            edit = results["edits"].get(name)
            if edit is None:
                continue
            how = (
                f"{edit['median_bits']:.0f} bits"
                if edit["median_bits"] is not None
                else (f"{edit['median_inliers']:.0f} inliers" if edit["median_inliers"] else "-")
            )
            missed = ""
            if edit["recall"] < 1:
                missed = (
                    f"; missed: {edit['misses_not_voted']} not voted,"
                    f" {edit['misses_not_verified']} not verified"
                )
            rows.append(
                (
                    f"{group}: {name}",
                    f"{edit['recall']:.3f}",
                    f"{how}, {edit['check_p50_ms']:.0f} ms, {edit['signals']}{missed}",
                )
            )
    real_check = results.get("real_check_p50_ms")
    rows.append(
        (
            "false refusals (train photos)",
            f"{results['false_positives']} / {results['real_photos']}",
            "target 0" + (f"; check p50 {real_check:.1f} ms" if real_check else ""),
        )
    )
    if "all_pairs_checked" in results:
        rows.append(
            (
                "all pairs: false / checked",
                f"{results['all_pairs_false']} / {results['all_pairs_checked']:,}",
                f"real copies found {results['real_copies_matched']}/{results['real_copies']};"
                " target 0 false",
            )
        )
        for size in (100_000, 1_000_000):
            rows.append(
                (
                    f"false refusals per check implied at {size:,}",
                    f"{results[f'false_refusal_rate_at_{size}']:.2e}",
                    f"95% bound {results[f'false_refusal_rate_bound_at_{size}']:.2e}",
                )
            )
    if "keypoint_own_votes_found" in results:
        rows.append(
            (
                f"keypoint index: a copy's votes found ({results['keypoint_index_rows']:,} rows)",
                f"{results['keypoint_own_votes_found'] / results['keypoint_own_votes_exact']:.3f}",
                f"of an exact search's; lookup p50 {results['keypoint_lookup_p50_ms']:.1f} ms;"
                f" {results['keypoint_index']}",
            )
        )
    if "registry_mb_per_1000" in results:
        rows.append(
            (
                "registry MB per 1,000 (in memory / with features)",
                f"{results['registry_mb_per_1000']:.1f} / "
                f"{results['registry_mb_per_1000_with_features']:.1f}",
                "target <= 20 in memory",
            )
        )
    rows.append(
        (
            "check p50 / p95 ms, all checks above",
            f"{results['check_p50_ms']:.1f} / {results['check_p95_ms']:.1f}",
            "",
        )
    )
    for key, value in results.items():
        if key.startswith("check_p50_ms_at_"):
            size = int(key.rsplit("_", 1)[1])
            p95 = results[f"check_p95_ms_at_{size}"]
            rows.append(
                (
                    f"check p50 / p95 ms, {size:,} registered",
                    f"{value:.1f} / {p95:.1f}",
                    "p50 <= 50",
                )
            )
    return rows


def run(args) -> dict:
    from catalog.models import GeneratedImage

    random.seed(0)
    candidates = photos("validation", 341) + photos("test", 372)
    registered = sorted(random.sample(candidates, args.registered))
    real = photos("train", args.real)
    edit_set = {k: v for k, v in edits.ALL.items() if not args.edits or k in args.edits}
    results = measure(registered, real, edit_set)
    if not args.all_pairs:  # all pairs measures it on its 3,781 entries instead
        results |= registry_size()
    write_json("guard", results)  # so far: a later phase may take an hour
    if args.all_pairs:
        everything = photos("train", 3068) + photos("validation", 341) + photos("test", 372)
        results |= all_pairs(everything)
        write_json("guard", results)
        if args.keypoint_probes:  # 0: no probes (the median of none would fail)
            entries = register(everything)
            results |= keypoint_index_recall(everything, entries, args.keypoint_probes)
        for size in (100_000, 1_000_000):
            measured, bound = _rate_per_check(
                results["all_pairs_false"], results["all_pairs_checked"], size
            )
            results[f"false_refusal_rate_at_{size}"] = measured
            results[f"false_refusal_rate_bound_at_{size}"] = bound
        results |= registry_size()
        write_json("guard", results)
    # All pairs registered every photo: a timed photo would be found by its bytes at once.
    for total in [] if args.all_pairs else args.scale:
        load = fill_registry_to(total)
        if load is not None:
            print(f"registry filled to {total:,} entries in {load:.0f} s")
        size = GeneratedImage.objects.count()
        if size != total:  # a kept database that already holds more
            print(f"the registry holds {size:,} entries: timed at {size:,}, not {total:,}")
            total = size
        # Real photos that match nothing: the whole pipeline runs, the slowest path (train
        # photos even when --real 0 skipped the false-positive count).
        timed = real[:200] or photos("train", 200)
        timings = [check(p.read_bytes())[1] for p in tqdm(timed, desc=f"timing at {total}")]
        results[f"check_p50_ms_at_{total}"] = median(timings) * 1000
        results[f"check_p95_ms_at_{total}"] = percentile(timings, 95) * 1000
    print_table("Provenance guard: recall per edit (target >= 0.99)", _rows(results))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registered", type=int, default=500)
    parser.add_argument("--real", type=int, default=3068)
    parser.add_argument("--edits", nargs="*", help="only these edits (default: all)")
    parser.add_argument(
        "--no-all-pairs", dest="all_pairs", action="store_false", help="skip the all-pairs run"
    )
    parser.add_argument(
        "--keypoint-probes",
        type=int,
        default=80,
        help=f"photos whose hard copies ({', '.join(KEYPOINT_PROBE_EDITS)}) probe the keypoint"
        " index after all pairs",
    )
    parser.add_argument(
        "--scale",
        type=int,
        nargs="*",
        default=[1000, 100_000],
        help="registry sizes to time the check at (filled with random entries; needs "
        "--no-all-pairs, which registers every photo)",
    )
    parser.add_argument(
        "--keep-db",
        type=Path,
        metavar="DIR",
        help="keep the database and media in DIR and reuse them in later runs: a registry "
        "filled to 100,000 entries takes about an hour to build",
    )
    args = parser.parse_args()
    run_benchmark("guard", run, args, profile="tiny", keep=args.keep_db)


if __name__ == "__main__":
    main()
