"""Fidelis on several hosts, for real, on loopback, with the faults a shop's machines have.

    ./fidelis bench cluster [--burst 200] [--json PATH]

Hosts, each its own process group on its own 127.0.0.x address with its own var dir: a
PostgreSQL primary on TCP and a streaming replica (pg_basebackup), an S3 server (moto), two app
hosts (gunicorn, config/gunicorn.py) and two worker hosts (procrastinate). What it shows:

- an image uploaded through app1 is served by app2 (media in S3, not on a host's disk);
- a product saved through app2 is found by photo search through app1 within 2 s (its image is
  embedded by a job on a worker host);
- shoppers' searches are read from the replica (its transaction counter), and answer from the
  primary while the replica is stopped;
- a worker killed with SIGKILL mid indexing job and mid create job: the other worker finishes
  both (stalled jobs go back to the queue), no job lost, no duplicate rows;
- the primary killed and restarted during a burst of shopper and merchant requests: every
  answer is a 2xx or a 503 with Retry-After, never another 5xx; no half-written product.

Workers beat every second here (FIDELIS_WORKER_HEARTBEAT_S=1) so that a run takes minutes;
production's default, 10 s, recovers a killed worker's job within about 40 s.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import requests
from cluster_hosts import (
    ROOT,
    Host,
    app_database_create,
    app_host,
    bucket_create,
    pg_connect,
    pg_ready,
    pg_url,
    postgres_host,
    primary_init,
    replica_init,
    s3_host,
    s3_ready,
    serving,
    wait_until,
    worker_host,
)
from common import DATASET, RESULTS, print_table

# The admin's forms are driven the same way as in the tests (tests/processes.py).
sys.path.insert(0, str(ROOT))
from tests import processes

ADDRESSES = {
    "primary": "127.0.0.2",
    "replica": "127.0.0.3",
    "objects": "127.0.0.4",
    "app1": "127.0.0.5",
    "app2": "127.0.0.6",
    "images": "127.0.0.7",  # the merchant's own image server, for feed-style image links
}
PASSWORD = "cluster-merchant-pw"
PACE_S = 0.05
BUCKET = "fidelis-media"


class Cluster:
    def __init__(self, root: Path):
        self.root = root
        self.primary = postgres_host(
            "primary", ADDRESSES["primary"], root / "primary", shared_buffers="256MB"
        )
        self.replica = postgres_host(
            "replica", ADDRESSES["replica"], root / "replica", shared_buffers="256MB"
        )
        self.objects = s3_host(ADDRESSES["objects"], root / "objects")
        self.env = self._app_env()
        self.apps = [
            app_host(name, ADDRESSES[name], root / name, self.env) for name in ("app1", "app2")
        ]
        self.workers = [worker_host(name, root / name, self.env) for name in ("worker1", "worker2")]

    @property
    def hosts(self) -> list[Host]:
        return [self.primary, self.replica, self.objects, *self.apps, *self.workers]

    def _app_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FIDELIS_", "DATABASE_", "DJANGO_", "AWS_"))
        }
        return env | {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "cluster-" + secrets.token_urlsafe(40),  # one for all hosts
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": ",".join(ADDRESSES.values()),
            "FIDELIS_HTTPS": "0",
            "FIDELIS_STATIC_MANIFEST": "0",
            "FIDELIS_ENCODER": "tiny",
            "FIDELIS_GENERATOR": "tiny",
            "FIDELIS_WEB_WORKERS": "1",
            "FIDELIS_WEB_THREADS": "4",
            # The merchant's image host is on loopback too (and nothing but loopback is fetched).
            "FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES": "1",
            "FIDELIS_FEED_LOOPBACK_ONLY": "1",
            "FIDELIS_WORKER_HEARTBEAT_S": "1",
            "FIDELIS_STALLED_CHECK_EVERY_S": "2",
            "DATABASE_URL": pg_url(self.primary),
            "DATABASE_REPLICA_URLS": pg_url(self.replica),
            "FIDELIS_REPLICA_RETRY_S": "2",
            "FIDELIS_STORAGE": "s3",
            "AWS_S3_ENDPOINT_URL": f"http://{self.objects.address}:{self.objects.port}",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_ACCESS_KEY_ID": "cluster",
            "AWS_SECRET_ACCESS_KEY": "cluster",
            "AWS_S3_REGION_NAME": "us-east-1",
            "PYTHONUNBUFFERED": "1",
            **{f"FIDELIS_THROTTLE_{s}": "1000000/min" for s in ("SEARCH", "PHOTO_SEARCH")},
        }

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> None:
        primary_init(self.primary)
        self.primary.start()
        self.objects.start()
        wait_until(
            lambda: pg_ready(self.primary), timeout=60, what="primary up", hosts=[self.primary]
        )
        app_database_create(self.primary)
        replica_init(self.replica, self.primary)
        self.replica.start()
        wait_until(lambda: s3_ready(self.objects), timeout=30, what="S3 up", hosts=[self.objects])
        bucket_create(self.objects, BUCKET)
        self.manage("migrate", "--no-input")
        for host in [*self.apps, *self.workers]:
            host.start()
        wait_until(
            lambda: pg_ready(self.replica), timeout=60, what="replica up", hosts=[self.replica]
        )
        for app in self.apps:
            wait_until(
                lambda app=app: serving(app), timeout=180, what=f"{app.name} ready", hosts=[app]
            )

    def stop(self) -> None:
        for host in reversed(self.hosts):
            host.stop()

    @contextmanager
    def running(self):
        """Start every host; on the way out stop each by its pid and delete the var dirs. A
        failure shows the tail of every host's log."""
        try:
            self.start()
            yield self
        except Exception:
            for host in self.hosts:
                print(host.tail(1500), file=sys.stderr)
            raise
        finally:
            self.stop()
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, app: Host, path: str) -> str:
        return f"http://{app.address}:{app.port}{path}"

    def sql(self, query: str, params=(), host: Host | None = None, fetch: bool = True):
        with pg_connect(host or self.primary) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if fetch else None


# --- the merchant's side --------------------------------------------------------------------


def merchant_create(cluster: Cluster) -> None:
    cluster.manage(
        "shell",
        "-c",
        "from catalog.services import merchant_create, merchant_add_user\n"
        "from django.contrib.auth import get_user_model\n"
        "merchant = merchant_create(name='Cluster Shop')\n"
        f"user = get_user_model().objects.create_user('cluster', password='{PASSWORD}')\n"
        "merchant_add_user(merchant=merchant, user=user)\n",
    )


def admin_session(cluster: Cluster, app: Host) -> requests.Session:
    return processes.admin_session(cluster.url(app, ""), "cluster", PASSWORD)


def admin_product_add(cluster: Cluster, app: Host, session, *, title: str, photo: Path) -> int:
    """Upload a product with its photo through the admin of `app`; return the product's id."""
    processes.admin_product_add(session, cluster.url(app, ""), title=title, photo=photo)
    [(product_id,)] = cluster.sql("SELECT id FROM catalog_product WHERE title = %s", [title])
    return product_id


def api_token(cluster: Cluster, app: Host) -> dict[str, str]:
    answer = requests.post(
        cluster.url(app, "/api/v1/merchant/token/"),
        data={"username": "cluster", "password": PASSWORD},
        timeout=10,
    )
    answer.raise_for_status()
    return {"Authorization": f"Token {answer.json()['token']}"}


def photo_search_top(cluster: Cluster, app: Host, photo: Path) -> int | None:
    with photo.open("rb") as fh:
        answer = requests.post(
            cluster.url(app, "/api/v1/search/photo/"), files={"image": fh}, timeout=10
        )
    hits = answer.json()["results"] if answer.ok else []
    return hits[0]["product"]["id"] if hits else None


# --- the scenarios ----------------------------------------------------------------------------


def media_is_shared(cluster: Cluster, photos: list[Path]) -> dict:
    app1, app2 = cluster.apps
    product_id = admin_product_add(
        cluster, app1, admin_session(cluster, app1), title="Shared photo", photo=photos[0]
    )
    [(name,)] = cluster.sql(
        "SELECT file FROM catalog_productimage WHERE product_id = %s", [product_id]
    )
    first = requests.get(cluster.url(app1, f"/media/{name}"), timeout=10)
    second = requests.get(cluster.url(app2, f"/media/{name}"), timeout=10)
    return {
        "uploaded_via": "app1",
        "served_by_app2": second.status_code == 200 and second.content == first.content,
        "bytes": len(second.content),
    }


def saved_on_one_found_on_other(cluster: Cluster, photos: list[Path]) -> dict:
    app1, app2 = cluster.apps
    product_id = admin_product_add(
        cluster, app2, admin_session(cluster, app2), title="Found elsewhere", photo=photos[1]
    )
    seconds = wait_until(
        lambda: photo_search_top(cluster, app1, photos[1]) == product_id,
        timeout=30,
        what="the product saved on app2 found on app1",
        hosts=cluster.apps,
    )
    return {
        "saved_via": "app2",
        "found_via": "app1",
        "seconds": round(seconds, 2),
        "within_2_s": seconds <= 2,
    }


def replica_transactions(cluster: Cluster) -> int:
    [(count,)] = cluster.sql(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'fidelis'",
        host=cluster.replica,
    )
    return count


def reads_hit_the_replica(cluster: Cluster, searches: int) -> dict:
    before = replica_transactions(cluster)
    statuses = []
    for i in range(searches):
        app = cluster.apps[i % 2]
        statuses.append(
            requests.get(
                cluster.url(app, "/api/v1/search/"), params={"q": "shirt"}, timeout=10
            ).status_code
        )
    # A session flushes its statistics when it ends, or within about 10 s of going idle (the
    # app hosts keep theirs open), so the count is read until it is complete, for at most 15 s.
    # Each read is a transaction of its own, counted once its session has ended.
    deadline = time.monotonic() + 15
    reads = 0
    while True:
        reads += 1
        counted = replica_transactions(cluster) - before - reads
        if counted >= searches or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {"searches": searches, "ok": statuses.count(200), "replica_transactions": counted}


def kill_worker_mid_job(
    cluster: Cluster, *, table: str, task: str, queue_work, finished, victim: Host, rescuer: Host
) -> dict:
    """Catch `victim` mid-job (it waits on a lock on `table`), SIGKILL it, and time `rescuer`
    finishing the job. `queue_work()` queues the job while no worker runs."""
    for worker in cluster.workers:
        worker.stop()
    queue_work()
    with pg_connect(cluster.primary) as lock:
        lock.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        victim.start()
        wait_until(
            lambda: cluster.sql(
                "SELECT 1 FROM procrastinate_jobs WHERE task_name = %s AND status = 'doing'",
                [task],
            ),
            timeout=120,
            what=f"{victim.name} taking the {task} job",
            hosts=[victim],
        )
        time.sleep(0.5)  # waiting on the lock, mid-job
        victim.kill()
        killed = time.monotonic()
        lock.commit()
    rescuer.start()
    wait_until(finished, timeout=120, what=f"{rescuer.name} finishing {task}", hosts=[rescuer])
    return {
        "victim": victim.name,
        "rescued_by": rescuer.name,
        "recovered_s": round(time.monotonic() - killed, 1),
    }


def indexing_survives_a_killed_worker(cluster: Cluster, photos: list[Path]) -> dict:
    app1 = cluster.apps[0]
    session = admin_session(cluster, app1)
    ids: list[int] = []

    def queue_work():
        for i, photo in enumerate(photos):
            ids.append(
                admin_product_add(cluster, app1, session, title=f"Killed worker {i}", photo=photo)
            )

    def embedded() -> int:
        [(count,)] = cluster.sql(
            "SELECT count(DISTINCT e.image_id) FROM retrieval_imageembedding e "
            "JOIN catalog_productimage i ON i.id = e.image_id WHERE i.product_id = ANY(%s)",
            [ids],
        )
        return count

    result = kill_worker_mid_job(
        cluster,
        table="retrieval_imageembedding",
        task="retrieval.embed_pending_images",
        queue_work=queue_work,
        finished=lambda: embedded() == len(ids),
        victim=cluster.workers[0],
        rescuer=cluster.workers[1],
    )
    [(rows,)] = cluster.sql(
        "SELECT count(*) FROM retrieval_imageembedding e JOIN catalog_productimage i "
        "ON i.id = e.image_id WHERE i.product_id = ANY(%s)",
        [ids],
    )
    return result | {
        "images": len(ids),
        "lost": len(ids) - embedded(),
        "duplicate_rows": rows - embedded(),
    }


def create_survives_a_killed_worker(cluster: Cluster) -> dict:
    app2 = cluster.apps[1]
    headers = api_token(cluster, app2)
    job: dict = {}

    def queue_work():
        answer = requests.post(
            cluster.url(app2, "/api/v1/create/jobs/"),
            json={
                "prompt": "a linen summer dress",
                "seed": 9,
                "steps": 2,
                "num_images": 2,
                "width": 64,
                "height": 64,
            },
            headers=headers,
            timeout=30,
        )
        answer.raise_for_status()
        job.update(answer.json())

    def status() -> str:
        return requests.get(
            cluster.url(app2, f"/api/v1/create/jobs/{job['id']}/"), headers=headers, timeout=10
        ).json()["status"]

    result = kill_worker_mid_job(
        cluster,
        table="catalog_generatedimage",
        task="creation.run_create_job",
        queue_work=queue_work,
        finished=lambda: status() == "succeeded",
        victim=cluster.workers[1],
        rescuer=cluster.workers[0],
    )
    [(images, seeds)] = cluster.sql(
        "SELECT count(*), count(DISTINCT g.seed) FROM creation_createjob_images l "
        "JOIN catalog_generatedimage g ON g.id = l.generatedimage_id WHERE l.createjob_id = %s",
        [job["id"]],
    )
    [(registered,)] = cluster.sql(
        "SELECT count(*) FROM catalog_generatedimage WHERE prompt = 'a linen summer dress'"
    )
    cluster.workers[1].start()  # back to two worker hosts
    return result | {"images": images, "lost": 2 - seeds, "duplicate_rows": registered - seeds}


class ImageServer(http.server.BaseHTTPRequestHandler):
    """The merchant's image host: /N.jpg answers the Nth photo."""

    photos: list[bytes] = []

    def do_GET(self):
        index = int(self.path.strip("/").split(".")[0])
        body = self.photos[index % len(self.photos)]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def primary_restart_during_burst(cluster: Cluster, photos: list[Path], requests_total: int) -> dict:
    """Shoppers search and a merchant adds products (with an image link) while the primary is
    killed (SIGKILL, as a crash) and started again."""
    ImageServer.photos = [p.read_bytes() for p in photos]
    images = http.server.ThreadingHTTPServer((ADDRESSES["images"], 0), ImageServer)
    threading.Thread(target=images.serve_forever, daemon=True).start()
    image_base = f"http://{ADDRESSES['images']}:{images.server_address[1]}"
    headers = api_token(cluster, cluster.apps[0])
    outcomes: list[dict] = []
    kill_at, restart_after = requests_total // 4, 2.0  # kill a quarter in, down for 2 s
    events: dict[str, float] = {}

    burst_start = time.monotonic()

    def one(i: int) -> dict:
        # Paced, so that the burst spans the outage: 20 requests a second.
        time.sleep(max(0.0, burst_start + i * PACE_S - time.monotonic()))
        app = cluster.apps[i % 2]
        started = time.monotonic()
        try:
            if i % 4 == 3:  # a merchant write through the primary
                sku = f"BURST-{i}"
                answer = requests.post(
                    cluster.url(app, "/api/v1/merchant/products/"),
                    json={
                        "id": sku,
                        "title": f"Burst shirt {i}",
                        "price": "19.90 EUR",
                        "image_link": f"{image_base}/{i}.jpg",
                    },
                    headers=headers,
                    timeout=30,
                )
                kind = "write"
            else:
                sku = None
                answer = requests.get(
                    cluster.url(app, "/api/v1/search/"), params={"q": "shirt"}, timeout=30
                )
                kind = "search"
            return {
                "i": i,
                "kind": kind,
                "sku": sku,
                "status": answer.status_code,
                "retry_after": answer.headers.get("Retry-After"),
                "at": started,
            }
        except requests.RequestException as err:
            return {
                "i": i,
                "kind": "error",
                "sku": None,
                "status": None,
                "error": type(err).__name__,
                "at": started,
            }

    def chaos():
        wait_until(lambda: len(outcomes) >= kill_at, timeout=120, what="the burst under way")
        cluster.primary.kill()
        events["killed"] = time.monotonic()
        time.sleep(restart_after)
        cluster.primary.start()
        wait_until(
            lambda: pg_ready(cluster.primary),
            timeout=120,
            what="primary back",
            hosts=[cluster.primary],
        )
        events["back"] = time.monotonic()

    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(one, i) for i in range(requests_total)]:
            outcomes.append(future.result())
    chaos_thread.join(180)
    images.shutdown()
    # After the burst: the first write that succeeds again bounds the recovery.
    recovered = wait_until(
        lambda: (
            requests.post(
                cluster.url(cluster.apps[0], "/api/v1/merchant/products/"),
                json={"id": "AFTER-BURST", "title": "After the burst", "price": "9.90 EUR"},
                headers=headers,
                timeout=30,
            ).status_code
            in (200, 201)
        ),
        timeout=60,
        what="writes after the primary came back",
        hosts=cluster.apps,
    )
    return burst_report(cluster, outcomes, events, recovered)


def burst_report(cluster: Cluster, outcomes: list[dict], events: dict, recovered: float) -> dict:
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[str(o["status"])] = statuses.get(str(o["status"]), 0) + 1
    server_errors = [
        o
        for o in outcomes
        if o["status"] is None
        or (o["status"] >= 500 and not (o["status"] == 503 and o["retry_after"]))
    ]
    created = {o["sku"] for o in outcomes if o["kind"] == "write" and o["status"] in (200, 201)}
    rows = cluster.sql(
        "SELECT p.sku, count(i.id) FROM catalog_product p LEFT JOIN catalog_productimage i "
        "ON i.product_id = p.id WHERE p.sku LIKE 'BURST-%%' GROUP BY p.sku"
    )
    stored = dict(rows)
    return {
        "requests": len(outcomes),
        "statuses": statuses,
        "server_errors": len(server_errors),
        "server_error_samples": server_errors[:5],
        "writes_ok": len(created),
        "writes_answered_ok_but_missing": len(created - set(stored)),
        "half_written_products": sum(1 for count in stored.values() if count == 0),
        "searches_ok_during_outage": sum(
            1
            for o in outcomes
            if o["kind"] == "search"
            and o["status"] == 200
            and events.get("killed", 1e18) <= o["at"] <= events.get("back", 0)
        ),
        "primary_down_s": round(events["back"] - events["killed"], 1),
        "writes_recovered_s_after_primary_back": round(recovered, 1),
    }


def replica_stopped(cluster: Cluster, searches: int) -> dict:
    cluster.replica.stop()
    statuses = [
        requests.get(
            cluster.url(cluster.apps[i % 2], "/api/v1/search/"), params={"q": "shirt"}, timeout=15
        ).status_code
        for i in range(searches)
    ]
    fell_back = all(
        "Replica replica1 is unreachable" in app.log.read_text() for app in cluster.apps
    )
    return {
        "searches": searches,
        "ok": statuses.count(200),
        "logged_fallback_on_both_apps": fell_back,
    }


def workers_alive(cluster: Cluster) -> dict:
    return {worker.name: worker.alive() for worker in cluster.workers}


def run(args) -> dict:
    photos = sorted((DATASET / "test").glob("*/*.jpg"))[: args.photos + 2]
    root = Path(tempfile.mkdtemp(prefix="fidelis-cluster-"))
    cluster = Cluster(root)
    started = time.monotonic()
    with cluster.running():
        merchant_create(cluster)
        results = {"hosts": {h.name: f"{h.address}:{h.port}" for h in cluster.hosts if h.port}}
        results["media"] = media_is_shared(cluster, photos)
        results["freshness"] = saved_on_one_found_on_other(cluster, photos)
        results["replica_reads"] = reads_hit_the_replica(cluster, args.searches)
        results["killed_indexing_worker"] = indexing_survives_a_killed_worker(cluster, photos[2:])
        results["killed_create_worker"] = create_survives_a_killed_worker(cluster)
        results["primary_restart"] = primary_restart_during_burst(cluster, photos, args.burst)
        results["workers_alive_after_primary_restart"] = workers_alive(cluster)
        results["replica_down"] = replica_stopped(cluster, args.searches)
    results["jobs_lost"] = (
        results["killed_indexing_worker"]["lost"] + results["killed_create_worker"]["lost"]
    )
    results["duplicate_rows"] = (
        results["killed_indexing_worker"]["duplicate_rows"]
        + results["killed_create_worker"]["duplicate_rows"]
    )
    results["server_errors"] = results["primary_restart"]["server_errors"]
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def report(results: dict) -> None:
    burst, reads = results["primary_restart"], results["replica_reads"]
    rows = [
        ("image uploaded on app1, served by app2", str(results["media"]["served_by_app2"]), "True"),
        ("saved on app2, found on app1 (s)", str(results["freshness"]["seconds"]), "<= 2"),
        (
            "replica transactions / searches",
            f"{reads['replica_transactions']} / {reads['searches']}",
            ">= searches",
        ),
        (
            "killed indexing worker: recovered (s)",
            str(results["killed_indexing_worker"]["recovered_s"]),
            "heartbeat 1 s",
        ),
        (
            "killed create worker: recovered (s)",
            str(results["killed_create_worker"]["recovered_s"]),
            "heartbeat 1 s",
        ),
        ("jobs lost", str(results["jobs_lost"]), "0"),
        ("duplicate rows", str(results["duplicate_rows"]), "0"),
        ("burst: statuses", json.dumps(burst["statuses"]), "2xx, 503"),
        ("burst: server errors (5xx but 503+Retry-After)", str(burst["server_errors"]), "0"),
        ("burst: half-written products", str(burst["half_written_products"]), "0"),
        (
            "burst: searches served while primary down",
            str(burst["searches_ok_during_outage"]),
            "> 0 (replica)",
        ),
        (
            "primary down (s) / writes back after (s)",
            f"{burst['primary_down_s']} / {burst['writes_recovered_s_after_primary_back']}",
            "",
        ),
        (
            "workers alive after primary restart",
            json.dumps(results["workers_alive_after_primary_restart"]),
            "all",
        ),
        (
            "replica stopped: searches ok",
            f"{results['replica_down']['ok']} / {results['replica_down']['searches']}",
            "all",
        ),
        ("run (s)", str(results["seconds"]), ""),
    ]
    print_table(
        "Fidelis cluster on loopback (2 app hosts, 2 worker hosts, primary + replica, S3)", rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--burst", type=int, default=200, help="requests in the primary-restart burst"
    )
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--photos", type=int, default=3, help="products in the killed-worker job")
    parser.add_argument("--json", type=Path, default=RESULTS / "cluster.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally: stop every host
    results = run(args)
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
