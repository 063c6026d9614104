"""Feed import benchmark: a Merchant Center feed in, products searchable; the `bench` profile.

  ./fidelis bench import [--sizes 1000 10000 100000] [--window 1000] [--updates 10000]
                         [--prefill N] [--worker-as-before]

On a throw-away database, with a real worker process embedding beside the import:
1. images unique by content, made from the shared photos with small edits (a crop of a few
   pixels, a brightness step, JPEG at 90), written beside the feed;
2. the feed imported in windows of `--window` products up to each catalog size: a window is
   timed from its first row to its last product embedded by the worker (parse, read, guard,
   store, embed: end to end), and the rate at a size is its last window's, with the CPU each
   process (the import, the worker, PostgreSQL) spent on it per product; windows alternate
   between the guard's checks run ahead of the writes (as shipped) and each row in turn (the
   baseline, reported beside it);
3. the import alone, from one more window at the largest size run in this process without a
   worker: its rate with the guard's checks run ahead of the writes (as shipped) and with each
   row in turn, in alternating quarters, and where the time goes per product (decode, hashes
   and keypoints, guard lookups, keypoint index inserts, the writer's rows, files, commits and
   waits, the embedding);
4. `--updates` price and stock changes through the bulk API (1,000 items per request), items
   per second: over HTTP to the production server (gunicorn on a loopback port, one process)
   and in this process (Django's test client: what the server and the network add).
`--prefill N` first loads N products of another merchant by COPY (see `prefill`), so the
windows run at a large catalog size within minutes (`--prefill 98000 --sizes 100000`: four
windows at 98,000-100,000); `--worker-as-before` then runs three more windows with the worker
restarted as it was before its backlog (a scan of every image a batch, a lexicon refresh a
job): the same-run baseline of that change.
Prints a table and writes bench/results/import.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests
from cluster_hosts import app_host, serving, wait_until
from common import (
    DATASET,
    RESULTS,
    log_tail,
    print_table,
    run_benchmark,
    scratch_dir,
    start_worker,
)
from host_cpu import tree_seconds
from PIL import Image, ImageEnhance
from tqdm import tqdm

COLUMNS = ["id", "title", "price", "quantity", "brand", "color", "size", "image_link"]
COLOURS = ["Black", "White", "Navy", "Olive", "Sand", "Grey", "Rust"]
WARM_UP = 32  # products imported before the clock starts
WRITER = "on the writing thread"  # the timed stages that ran on it, in total


def unique_photo(source: Path, n: int, out: Path) -> None:
    """Product n's own image: the photo, cropped by a few pixels and a brightness step."""
    with Image.open(source) as image:
        image = image.convert("RGB")
        left, top = n % 5, (n // 5) % 5
        image = image.crop((left, top, image.width - (n // 25) % 5, image.height))
        image = ImageEnhance.Brightness(image).enhance(1 + ((n // 125) % 9 - 4) / 100)
        image.save(out, "JPEG", quality=90)


def feed_rows(photos: list[Path], start: int, stop: int, folder: Path) -> list[dict]:
    rows = []
    for n in range(start, stop):
        name = f"p{n:07d}.jpg"
        if not (folder / name).exists():
            unique_photo(photos[n % len(photos)], n, folder / name)
        colour = COLOURS[n % len(COLOURS)]
        rows.append(
            {
                "id": f"B-{n:07d}",
                "title": f"{colour} {photos[n % len(photos)].parent.name} {n}",
                "price": f"{10 + n % 90}.90 EUR",
                "quantity": str(n % 13),
                "brand": f"Brand {n % 40}",
                "color": colour,
                "size": ["S", "M", "L"][n % 3],
                "image_link": name,
            }
        )
    return rows


def feed_bytes(rows: list[dict]) -> io.BytesIO:
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def import_window(merchant, rows: list[dict], folder: Path) -> dict:
    from catalog.services import feed_import

    report = feed_import(merchant=merchant, stream=feed_bytes(rows), name="feed.csv", base=folder)
    if report.errors:
        raise RuntimeError(f"the benchmark feed had errors: {report.errors[:3]}")
    return report.as_dict()


def wait_embedded(worker, log: Path, timeout: float = 3600) -> None:
    """Until the worker has embedded every image: its backlog is empty (counting the vectors
    cost a scan of them all, every 0.2 s, at 100,000)."""
    from retrieval.models import PendingImage

    deadline = time.monotonic() + timeout
    while PendingImage.objects.exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker stopped or fell behind\n{log_tail(log)}")
        time.sleep(0.2)


@contextmanager
def stage_timers():
    """Time each stage of an import by wrapping the functions that do it."""
    import catalog.fingerprints
    import catalog.guard
    import catalog.guard.registry
    import catalog.services.images as images

    spent: dict[str, float] = defaultdict(float)
    patched = [
        (images, "inspect_image", "decode"),
        (catalog.fingerprints, "query_print", "hashes and keypoints"),
        (catalog.guard, "nearest_by_pdq", "guard lookups"),
        (catalog.guard, "local_feature_candidates", "guard lookups"),
        (catalog.guard, "local_feature_match", "guard lookups"),
        (images, "_keypoints_store", "keypoint index inserts"),
    ]
    originals = []
    for module, name, stage in patched:
        original = getattr(module, name)
        originals.append((module, name, original))

        def timed(*args, _original=original, _stage=stage, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - started
                spent[_stage] += seconds
                if threading.current_thread() is threading.main_thread():
                    spent[WRITER] += seconds

        setattr(module, name, timed)
    try:
        yield spent
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


@contextmanager
def checks(mode: str):
    """The feed import with the guard's checks run "ahead" of its writes (as shipped) or with
    each row "in turn" (ADMIT_AHEAD 0, the baseline)."""
    import catalog.services.feeds as feeds

    shipped = feeds.ADMIT_AHEAD
    feeds.ADMIT_AHEAD = shipped if mode == "ahead" else 0
    try:
        yield
    finally:
        feeds.ADMIT_AHEAD = shipped


def breakdown(merchant, rows: list[dict], folder: Path) -> dict:
    """Import alone (no worker running), in this process: products/s with the guard's checks
    run ahead of the writes and with each row in turn (`checks`), in alternating quarters of
    `rows`; then ms per product in each stage (summed over threads, so with the checks ahead
    they add up to more than the wall time) and the embedding."""
    from retrieval.indexing import embed_pending_images

    quarter = len(rows) // 4
    wall = {"ahead": 0.0, "in turn": 0.0}
    with stage_timers() as spent:
        for i, mode in enumerate(["in turn", "ahead", "in turn", "ahead"]):
            started = time.perf_counter()
            with checks(mode):
                import_window(merchant, rows[i * quarter : (i + 1) * quarter], folder)
            wall[mode] += time.perf_counter() - started
    started = time.perf_counter()
    embed_pending_images()
    spent["embedding (batches of 32)"] = time.perf_counter() - started
    total = sum(wall.values())
    writer = spent.pop(WRITER)
    stages = {stage: seconds * 1000 / (4 * quarter) for stage, seconds in spent.items()}
    # The writing thread's time outside the timed stages: rows, files, commits, and its waits
    # for checks still running ahead.
    stages["the writer's rows, files, commits and waits"] = (total - writer) * 1000 / (4 * quarter)
    rates = {mode: round(2 * quarter / seconds, 2) for mode, seconds in wall.items()}
    return {stage: round(ms, 2) for stage, ms in stages.items()}, rates


BULK_URL = "/api/v1/merchant/products/bulk/"


def bulk_updates(merchant, count: int) -> dict[str, float]:
    """Price and stock changes through the bulk API, 1,000 per request: items per second over
    HTTP (gunicorn) and in this process (Django's test client), each with its own changes."""
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from catalog.models import Product
    from catalog.services import merchant_add_user

    user = get_user_model().objects.create_user("bench-api")
    merchant_add_user(merchant=merchant, user=user)
    token = AuthToken.objects.create(user=user)[1]
    skus = list(Product.objects.filter(merchant=merchant).values_list("sku", flat=True))

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    def in_process(batch: list[dict]):
        answer = client.post(BULK_URL, {"items": batch}, format="json")
        return answer.status_code, answer.json()

    with http_server() as url:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"

        def over_http(batch: list[dict]):
            answer = session.post(url + BULK_URL, json={"items": batch}, timeout=120)
            return answer.status_code, answer.json()

        http = post_batches(over_http, bulk_batches(skus, count, seed=0), "bulk updates, HTTP")
    return {
        "http": http,
        "in_process": post_batches(in_process, bulk_batches(skus, count, seed=1), "in process"),
    }


def bulk_batches(skus: list[str], count: int, seed: int) -> list[list[dict]]:
    """`count` random price or stock changes in requests of BULK_MAX_ITEMS (an SKU once each)."""
    from catalog.product_apis import BULK_MAX_ITEMS

    rng = random.Random(seed)
    items = [
        {"id": rng.choice(skus), "price": f"{rng.randint(5, 99)}.50 EUR"}
        if i % 2
        else {"id": rng.choice(skus), "quantity": rng.randint(0, 20)}
        for i in range(count)
    ]
    return [
        list({item["id"]: item for item in items[start : start + BULK_MAX_ITEMS]}.values())
        for start in range(0, count, BULK_MAX_ITEMS)
    ]


def post_batches(post, batches: list[list[dict]], desc: str) -> float:
    """Items per second of `post(batch) -> (status, body)` over the batches, in turn."""
    post(batches[0][:1])  # untimed: a process's first request builds its middleware chain
    started = time.perf_counter()
    for batch in tqdm(batches, desc=desc, unit="request"):
        status, body = post(batch)
        if status != 200 or body["failed"]:
            raise RuntimeError(f"bulk update refused ({status}): {str(body)[:500]}")
    return sum(map(len, batches)) / (time.perf_counter() - started)


@contextmanager
def http_server():
    """The production web server (gunicorn, config/gunicorn.py) on a loopback port and this
    benchmark's database; its base URL. Stopped by its pid on the way out."""
    var = Path(tempfile.mkdtemp(prefix="fidelis-bench-app."))
    env = os.environ | {"FIDELIS_WEB_WORKERS": "1", "FIDELIS_STATIC_MANIFEST": "0"}
    app = app_host("app", "127.0.0.1", var, env).start()
    try:
        wait_until(lambda: serving(app), timeout=180, what="the app server ready", hosts=[app])
        yield f"http://{app.address}:{app.port}"
    finally:
        app.stop()
        shutil.rmtree(var, ignore_errors=True)


def prefill(count: int) -> None:
    """`count` products of another merchant, written by COPY (bench/search.py's synthetic
    catalog: products, one image each, vectors and their HNSW graphs, the lexicon), with a PDQ
    hash on each image (pseudo-random bits, so the catalog's PDQ graph is as large as the
    catalog): a large catalog in minutes rather than the hours a feed takes. Not written:
    the images' keypoint rows (read only by the re-check; an insert appends to one inverted
    list, whatever the table's size) and image files (never read: all are embedded)."""
    from django.db import connection
    from search import build_catalog

    from retrieval.encoders import get_encoder

    build_catalog(count, get_encoder())
    with connection.cursor() as cursor:
        print(f"PDQ hashes for {count:,} images (the catalog's HNSW graph)...")
        cursor.execute(
            "UPDATE catalog_productimage SET pdq = ('x' || md5(id::text) || md5('pdq' || id))"
            "::bit(256) WHERE pdq IS NULL"
        )
        # Vacuumed before the clock starts, or autovacuum walks the PDQ graph in timed windows.
        cursor.execute("VACUUM ANALYZE catalog_productimage")


# The worker as it was before the indexing backlog, the delayed lexicon refresh and gathering:
# a scan of every image for each batch, the lexicon rebuilt after each job, a batch of what is
# waiting (the baseline at the largest size).
WORKER_AS_BEFORE = {
    "FIDELIS_INDEXING_FULL_SCAN_S": "0",
    "FIDELIS_LEXICON_REFRESH_DELAY_S": "0",
    "FIDELIS_INDEXING_GATHER_S": "0",
}


def own_cpu_seconds() -> float:
    """This process's CPU time (its threads; not its children: the worker, the database)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system


def postgres_pid() -> int:
    """The PostgreSQL server's main process (the parent of this connection's backend)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return psutil.Process(cursor.fetchone()[0]).ppid()


def timed_window(
    merchant, rows: list[dict], folder: Path, worker, log: Path, mode: str
) -> tuple[float, dict[str, float]]:
    """Products/s of one window, from its first row to its last image embedded, and the ms of
    CPU per product that each process spent on it (what bounds the rate on 2 cores)."""
    database = postgres_pid()

    def cpu_now() -> dict[str, float]:
        return {
            "import process": own_cpu_seconds(),
            "worker": tree_seconds(worker.pid)[0],
            "PostgreSQL": tree_seconds(database)[0],
        }

    cpu_before = cpu_now()
    started = time.perf_counter()
    with checks(mode):
        import_window(merchant, rows, folder)
    wait_embedded(worker, log)
    rate = len(rows) / (time.perf_counter() - started)
    cpu = {
        source: (seconds - cpu_before[source]) * 1000 / len(rows)
        for source, seconds in cpu_now().items()
    }
    tqdm.write(
        f"{time.strftime('%H:%M:%S')} {len(rows)} products, checks {mode}: {rate:.1f}/s; "
        f"CPU ms a product: {sum(cpu.values()):.1f} ("
        + ", ".join(f"{source} {ms:.1f}" for source, ms in cpu.items())
        + f"), cores busy {sum(cpu.values()) * rate / 1000:.2f}"
    )
    return rate, cpu


def run(args) -> dict:
    from catalog.services import merchant_create

    sources = sorted(DATASET.glob("*/*/*.jpg"))
    # Removed at teardown: the feed's images take ~60 MB per 1,000 products.
    folder = Path(scratch_dir("fidelis-bench-feed."))
    merchant = merchant_create(name="Bench Shop", slug="bench-shop")
    results: dict = {
        "profile": "bench",
        "window": args.window,
        "import_products_per_s": {},
        "import_products_per_s_in_turn": {},
    }
    if args.prefill:
        prefill(args.prefill)
    done = args.prefill  # products in the catalog; the feed's row n is product prefill + n
    # Windows alternate between the guard's checks run ahead of the writes (as shipped) and
    # each row in turn (the baseline), so both rates come from the same run.
    modes = itertools.cycle(["ahead", "in turn"])

    def window(stop: int) -> list[dict]:  # images made before timing
        return feed_rows(sources, done - args.prefill, stop - args.prefill, folder)

    log = RESULTS / "import-worker.log"
    worker = start_worker(log)
    try:
        # Not timed: the worker loads its encoder (and measures its formats on a new machine).
        import_window(merchant, window(done + WARM_UP), folder)
        wait_embedded(worker, log)
        done += WARM_UP
        for size in sorted(args.sizes):
            rates, cpu = {}, {}  # each mode's last window at this size
            with tqdm(total=size, initial=done, desc=f"import to {size:,}", unit="product") as bar:
                while done < size:
                    stop = min(size, done + args.window)
                    mode = next(modes)
                    rates[mode], cpu[mode] = timed_window(
                        merchant, window(stop), folder, worker, log, mode
                    )
                    bar.update(stop - done)
                    done = stop
            results["import_products_per_s"][str(size)] = round(rates.get("ahead", 0), 1)
            results["import_products_per_s_in_turn"][str(size)] = round(rates.get("in turn", 0), 1)
            if "ahead" in cpu:
                results.setdefault("cpu_ms_per_product", {})[str(size)] = {
                    source: round(ms, 1) for source, ms in cpu["ahead"].items()
                }
            results["products"] = done
        if args.worker_as_before:
            # More windows, the worker restarted as it was before (their median).
            worker.terminate()
            worker.wait(timeout=60)
            log = RESULTS / "import-worker-as-before.log"
            worker = start_worker(log, extra_env=WORKER_AS_BEFORE)
            import_window(merchant, window(done + WARM_UP), folder)  # it loads its encoder
            wait_embedded(worker, log)
            done += WARM_UP
            before = []
            for _ in range(3):
                stop = done + args.window
                before.append(timed_window(merchant, window(stop), folder, worker, log, "ahead")[0])
                done = stop
            results["import_products_per_s_worker_as_before"] = round(statistics.median(before), 1)
            results["products"] = done
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    # Where the time goes: one more window, in this process, at the largest size.
    rows = window(done + args.window)
    results["ms_per_product"], results["import_alone_products_per_s"] = breakdown(
        merchant, rows, folder
    )
    updates = bulk_updates(merchant, args.updates)
    results["update_items_per_s"] = round(updates["http"], 1)
    results["update_items_per_s_in_process"] = round(updates["in_process"], 1)
    if len(args.sizes) > 1:
        first, last = (
            results["import_products_per_s"][str(s)] for s in (min(args.sizes), max(args.sizes))
        )
        results["rate_at_largest_vs_smallest"] = round(last / first, 3)
    rows = [
        (f"import end to end at {int(size):,}, products/s", f"{rate}", ">= 40")
        for size, rate in results["import_products_per_s"].items()
    ]
    rows += [
        (f"  same, each row in turn (baseline) at {int(size):,}", f"{rate}", "")
        for size, rate in results["import_products_per_s_in_turn"].items()
    ]
    for size, cpu in results.get("cpu_ms_per_product", {}).items():
        rows.append(
            (
                f"  CPU ms a product end to end at {int(size):,}",
                f"{sum(cpu.values()):.1f}",
                "<= 50 (40/s on 2 cores)",
            )
        )
        rows += [(f"    {source}", f"{ms}", "") for source, ms in cpu.items()]
    if "import_products_per_s_worker_as_before" in results:
        rows.append(
            (
                "  same at the end, the worker as before (scans, refreshes)",
                f"{results['import_products_per_s_worker_as_before']}",
                "",
            )
        )
    if "rate_at_largest_vs_smallest" in results:
        ratio = results["rate_at_largest_vs_smallest"]
        rows.append(("rate at largest / smallest size", f"{ratio}", ">= 0.8"))
    rows.append(
        ("bulk API price/stock updates over HTTP, items/s", f"{updates['http']:.0f}", ">= 1000")
    )
    rows.append(("  same, in process (no server)", f"{updates['in_process']:.0f}", ""))
    rows += [
        (f"import alone (no worker), checks {mode}, products/s", f"{rate}", "")
        for mode, rate in results["import_alone_products_per_s"].items()
    ]
    rows += [
        (f"  ms per product: {stage}", f"{ms}", "")
        for stage, ms in results["ms_per_product"].items()
    ]
    print_table(f"Feed import (bench profile, window {args.window}, 2 cores)", rows)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="products loaded by COPY before the feed (see prefill()); sizes count them",
    )
    parser.add_argument(
        "--worker-as-before",
        action="store_true",
        help="then 3 more windows with the worker as before the backlog (baseline; median)",
    )
    args = parser.parse_args()
    run_benchmark("import", run, args)


if __name__ == "__main__":
    main()
