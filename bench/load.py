"""Shoppers' latency on two app hosts, alone and while a merchant floods create jobs.

    ./fidelis bench load [--users 16] [--seconds 60] [--products 300]

Starts the loopback cluster of bench/cluster.py (primary + replica, S3, two app hosts, two
worker hosts), imports a catalog, then runs locust headless twice for the same time: shoppers
only (text search, photo search, result pages 2-3, 0.5-1.5 s between requests), then the same
shoppers plus one merchant submitting create jobs as fast as the API takes them, then that
flood again with the worker hosts paused (SIGSTOP: the requests, the queue and the database
writes of the flood, without the jobs' own work). Reports requests/s, p50/p95/p99 over the
shoppers' requests and the errors, and the rise of p95. The hourly create quota is lifted
(the per-minute throttle still holds), so that every flood phase runs jobs, not only the first.

This box has 2 cores for every host. Worker hosts run under SCHED_IDLE (`chrt --idle 0`: CPU
only when nothing else wants it, below even `nice 19`), one thread each: on real machines they
would share nothing with the app hosts but the database, and here they must not take the app
hosts' cores. Their PostgreSQL sessions run at normal priority, as a shared database would.
The paused phase tells the two apart: what the flood costs the shoppers through the shared
services, and what its jobs' CPU costs them on this one box.
Targets: 0 errors; p95 with the flood at most 20% above without.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from cluster import PASSWORD, Cluster, merchant_create
from cluster_hosts import ROOT, wait_until
from common import DATASET, RESULTS, median, percentile, print_table
from host_cpu import cores_used, cpu_seconds
from tqdm import tqdm

SHOPPER_REQUESTS = ("text", "page", "photo")


def catalog_import(cluster: Cluster, products: int) -> None:
    cluster.manage(
        "import_catalog", str(DATASET / "train"), "--merchant", "cluster-shop",
        "--limit", str(products), timeout=1800,
    )  # fmt: skip

    def pending() -> int:
        [(count,)] = cluster.sql(
            "SELECT count(*) FROM catalog_productimage i WHERE NOT EXISTS "
            "(SELECT 1 FROM retrieval_imageembedding e WHERE e.image_id = i.id)"
        )
        return count

    wait_until(
        lambda: pending() == 0, timeout=900, what="the catalog embedded", hosts=cluster.workers
    )


def locust_phase(
    cluster: Cluster, work: Path, name: str, *, users: int, seconds: int, flood: bool
) -> dict:
    samples = work / f"{name}.json"
    photos = sorted((DATASET / "test").glob("*/*.jpg"))[:20]
    env = os.environ | {
        "FIDELIS_LOAD_HOSTS": ",".join(cluster.url(app, "") for app in cluster.apps),
        "FIDELIS_LOAD_PHOTOS": ",".join(map(str, photos)),
        "FIDELIS_LOAD_SAMPLES": str(samples),
        "FIDELIS_LOAD_MERCHANT": "cluster",
        "FIDELIS_LOAD_PASSWORD": PASSWORD,
    }
    classes = ["Shopper", "CreateFlood"] if flood else ["Shopper"]
    total = users + (1 if flood else 0)
    [(jobs_before,)] = cluster.sql(
        "SELECT count(*) FROM creation_createjob WHERE status = 'succeeded'"
    )
    databases = [cluster.primary, cluster.replica]
    cpu_before, started = cpu_seconds(cluster.hosts, databases), time.monotonic()
    locust_before = _children_cpu_seconds()
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
         "-u", str(total), "-r", str(total), "-t", f"{seconds}s", "--only-summary",
         "--stop-timeout", "10", "--loglevel", "WARNING", *classes],
        env=env, check=False, timeout=seconds + 120, stdout=subprocess.DEVNULL,
        stderr=(work / f"{name}.log").open("w"),
    )  # fmt: skip
    elapsed = time.monotonic() - started
    cpu = cores_used(cpu_before, cpu_seconds(cluster.hosts, databases), elapsed)
    cpu["locust"] = round((_children_cpu_seconds() - locust_before) / elapsed, 3)
    if not samples.exists():
        raise RuntimeError(
            f"locust wrote no samples:\n{(work / f'{name}.log').read_text()[-3000:]}"
        )
    [(jobs_after,)] = cluster.sql(
        "SELECT count(*) FROM creation_createjob WHERE status = 'succeeded'"
    )
    rows = json.loads(samples.read_text())
    # "text app1" -> ("text", "app1"); the flood's requests are named "create" and "token".
    rows = [(req.split()[0], req.split()[-1], ms, status) for req, ms, status in rows]
    return {
        "rows": rows,
        "seconds": seconds,
        "jobs_finished": jobs_after - jobs_before,
        "cpu_cores": cpu,
    }


def _children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended (locust, once it has quit)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(phases: list[dict]) -> dict:
    """Exact percentiles over the shoppers' requests of every phase of one condition."""
    rows = [row for phase in phases for row in phase["rows"]]
    seconds = sum(phase["seconds"] for phase in phases)
    shopper = [(app, ms, status) for req, app, ms, status in rows if req in SHOPPER_REQUESTS]
    latencies = [ms for _, ms, _ in shopper]
    creates = [status for req, _, _, status in rows if req == "create"]
    return {
        "shopper_requests": len(shopper),
        "rps": round(len(shopper) / seconds, 1),
        "p50_ms": round(median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": sum(1 for _, _, status in shopper if not 200 <= status < 300),
        "errors_by_status": dict(
            Counter(str(status) for _, _, status in shopper if not 200 <= status < 300)
        ),
        "median_ms_by_request": {
            req: round(median([ms for r, _, ms, _ in rows if r == req]), 1)
            for req in SHOPPER_REQUESTS
            if any(r == req for r, _, _, _ in rows)
        },
        # The flood goes to app1 only: app1 against app2 separates sharing a process with it
        # from sharing the machine (CPU, database) with its jobs.
        "p95_ms_by_app": {
            app: round(percentile([ms for a, ms, _ in shopper if a == app], 95), 1)
            for app in ("app1", "app2")
        },
        "p95_ms_by_phase": [
            round(percentile([ms for r, _, ms, _ in p["rows"] if r in SHOPPER_REQUESTS], 95), 1)
            for p in phases
        ],
        "cpu_cores_by_host": _mean_cores([phase["cpu_cores"] for phase in phases]),
        "create_accepted": creates.count(202),
        "create_refused_429": creates.count(429),
        "create_jobs_finished": sum(phase["jobs_finished"] for phase in phases),
    }


def _mean_cores(readings: list[dict[str, float]]) -> dict[str, float]:
    """Cores each host used (its database sessions apart), the mean over the phases."""
    labels = {label for reading in readings for label in reading}
    means = {label: sum(r.get(label, 0.0) for r in readings) / len(readings) for label in labels}
    return {label: round(means[label], 3) for label in sorted(labels, key=lambda x: -means[x])}


def create_queue_drained(cluster: Cluster) -> None:
    """The next phase without a flood starts once the last flood's jobs have run."""
    wait_until(
        lambda: (
            not cluster.sql(
                "SELECT 1 FROM creation_createjob WHERE status IN ('queued', 'running')"
            )
        ),
        timeout=600,
        what="the create jobs of the flood finished",
        hosts=cluster.workers,
    )


def run(args) -> dict:
    root = Path(tempfile.mkdtemp(prefix="fidelis-load-"))
    cluster = Cluster(root)
    for worker in cluster.workers:  # see the module's docstring
        worker.args = ["chrt", "--idle", "0", *worker.args]
        worker.env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for app in cluster.apps:
        app.env |= {"FIDELIS_CREATE_JOBS_PER_HOUR": "1000000"}
    started = time.monotonic()
    with cluster.running():
        merchant_create(cluster)
        catalog_import(cluster, args.products)
        took = time.monotonic() - started
        print(f"cluster up and {args.products} products embedded in {took:.0f} s")
        work = root / "load"
        work.mkdir()
        # Fresh tables get analysed once, not in the middle of the first phase.
        cluster.sql("ANALYZE", fetch=False)
        load = {"users": args.users, "seconds": args.seconds}
        locust_phase(cluster, work, "warm-up", users=args.users, seconds=10, flood=False)
        alone, flood, paused = [], [], []
        # Alternated, so that a drift of this shared machine falls on every condition.
        for round_ in tqdm(range(args.rounds), desc="rounds of 3 phases", unit="round"):
            alone.append(locust_phase(cluster, work, f"alone-{round_}", **load, flood=False))
            flood.append(locust_phase(cluster, work, f"flood-{round_}", **load, flood=True))
            create_queue_drained(cluster)
            for worker in cluster.workers:
                worker.signal(signal.SIGSTOP)
            try:
                paused.append(locust_phase(cluster, work, f"paused-{round_}", **load, flood=True))
            finally:
                for worker in cluster.workers:
                    worker.signal(signal.SIGCONT)
            create_queue_drained(cluster)
        alone, flood, paused = summary(alone), summary(flood), summary(paused)
    return {
        "users": args.users,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "products": args.products,
        "app_hosts": 2,
        "alone": alone,
        "with_create_flood": flood,
        "with_create_flood_workers_paused": paused,
        "shopper_p95_ms": alone["p95_ms"],
        "shopper_p95_ms_with_create_flood": flood["p95_ms"],
        "shopper_p95_ms_with_create_flood_workers_paused": paused["p95_ms"],
        "p95_rise": round(flood["p95_ms"] / alone["p95_ms"] - 1, 3),
        "p95_rise_workers_paused": round(paused["p95_ms"] / alone["p95_ms"] - 1, 3),
        "errors": alone["errors"] + flood["errors"] + paused["errors"],
    }


def report(results: dict) -> None:
    phases = (
        results["alone"],
        results["with_create_flood"],
        results["with_create_flood_workers_paused"],
    )
    alone, flood, paused = phases

    def each(key: str) -> str:
        return " | ".join(str(phase[key]) for phase in phases)

    rows = [
        (
            "shoppers / seconds per phase / rounds",
            f"{results['users']} / {results['seconds_per_phase']} / {results['rounds']}",
            "",
        ),
        ("(columns: alone | flood | flood, workers paused)", "", ""),
        ("requests/s", each("rps"), ""),
        ("p50 ms", each("p50_ms"), ""),
        ("p95 ms", each("p95_ms"), ""),
        ("p99 ms", each("p99_ms"), ""),
        ("p95 rise with the flood", f"{results['p95_rise']:+.1%}", "<= +20%"),
        ("p95 rise, workers paused", f"{results['p95_rise_workers_paused']:+.1%}", ""),
        ("shopper errors", str(results["errors"]), "0"),
        ("errors by status", each("errors_by_status"), ""),
        (
            "median ms text/page/photo (alone)",
            "/".join(str(v) for v in alone["median_ms_by_request"].values()),
            "",
        ),
        ("p95 ms by phase", each("p95_ms_by_phase"), ""),
        (
            "p95 ms app1 / app2 (flood on app1)",
            f"{flood['p95_ms_by_app']['app1']} / {flood['p95_ms_by_app']['app2']}",
            "",
        ),
        (
            "create jobs: accepted / 429 / finished in phase (flood | paused)",
            f"{flood['create_accepted']} / {flood['create_refused_429']}"
            f" / {flood['create_jobs_finished']} | {paused['create_accepted']}"
            f" / {paused['create_refused_429']} / {paused['create_jobs_finished']}",
            "",
        ),
    ]
    print_table("Shopper load on 2 app hosts (locust)", rows)
    cpu = [phase["cpu_cores_by_host"] for phase in phases]
    labels = sorted(cpu[1], key=lambda label: -cpu[1][label])  # by the flood's use
    cpu_rows = [
        (label, " | ".join(f"{by_host.get(label, 0.0):.3f}" for by_host in cpu), "")
        for label in labels
        if max(by_host.get(label, 0.0) for by_host in cpu) >= 0.005
    ]
    cpu_rows.append(
        ("all of the above", " | ".join(f"{sum(by_host.values()):.2f}" for by_host in cpu), "")
    )
    print_table("CPU cores by host (alone | flood | flood, workers paused)", cpu_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 3 phases")
    parser.add_argument("--json", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    results = run(args)
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
