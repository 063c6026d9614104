"""What a throttle check adds to an API request. Fidelis' throttle (one statement on a counter
table that every app process and host shares) against DRF's own throttle on per-process memory
as the baseline, and DRF's own throttle on Django's database cache (the shared store it would
need), measured in the same run.

    ./fidelis bench throttle [--calls 400]

Each call is one `allow_request()` of the search throttle for one client address, as DRF runs
it before the view. Prints a table and writes bench/results/throttle.json.
"""

from __future__ import annotations

import argparse
import time

from common import median, percentile, print_table, run_benchmark
from tqdm import tqdm


def run(args) -> dict:
    from django.core.cache.backends.db import DatabaseCache
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.management import call_command
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.throttling import SimpleRateThrottle

    from config.throttles import SearchThrottle

    call_command("createcachetable", "bench_cache", verbosity=0)
    database = DatabaseCache("bench_cache", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
    memory = LocMemCache("bench", {})
    factory = RequestFactory()

    def drf_throttle(cache):
        # DRF's sliding-log throttle on `cache`, keyed like ours.
        attributes = {"cache": cache, "allow_request": SimpleRateThrottle.allow_request}
        return type("DrfThrottle", (SearchThrottle,), attributes)

    def timings(throttle_class, label: str) -> list[float]:
        seconds = []
        for n in tqdm(range(args.calls), desc=label, unit="call"):
            request = Request(factory.get("/api/v1/search/", REMOTE_ADDR=f"10.0.{n % 200}.1"))
            started = time.perf_counter()
            throttle_class().allow_request(request, None)
            seconds.append(time.perf_counter() - started)
        return seconds

    def fill(count: int) -> None:
        database.clear()
        database.set_many({f"filler-{n}": [0.0] for n in range(count)}, timeout=600)

    results = {}
    results["DRF throttle, process memory (baseline)"] = timings(drf_throttle(memory), "memory")
    results["Fidelis throttle, counter table"] = timings(SearchThrottle, "counter table")
    fill(0)
    results["DRF throttle, database cache, empty"] = timings(drf_throttle(database), "db cache")
    fill(9_000)  # every write of Django's database cache counts the table's rows first
    results["DRF throttle, database cache, 9,000 rows"] = timings(drf_throttle(database), "full")
    database.clear()

    base = median(results["DRF throttle, process memory (baseline)"])
    rows, record = [], {}
    for label, seconds in results.items():
        p50, p95 = median(seconds) * 1000, percentile(seconds, 95) * 1000
        record[label] = {"p50_ms": p50, "p95_ms": p95, "x_baseline": p50 / (base * 1000)}
        rows.append((f"{label}: p50 / p95", f"{p50:.2f} / {p95:.2f} ms", ""))
    text_search_ms = args.text_search_ms
    added = record["Fidelis throttle, counter table"]["p50_ms"]
    rows.append(
        (
            f"Fidelis throttle's share of an HTTP text search ({text_search_ms} ms)",
            f"{100 * added / text_search_ms:.1f}%",
            "< 2%",
        )
    )
    print_table(f"Throttle check cost ({args.calls} calls each)", rows)
    return {"calls": args.calls, "results": record, "http_text_search_ms": text_search_ms}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument(
        "--text-search-ms",
        type=float,
        default=41.4,
        help="the HTTP text search median of bench/search.py on this machine, for the ratio",
    )
    run_benchmark("throttle", run, parser.parse_args(), profile="tiny")
