"""The production server as `./fidelis serve` runs it: gunicorn with config/gunicorn.py, hashed
static files from whitenoise, the health probes, JSON logs, a graceful stop; and what shoppers
get while the database or a replica is unreachable. Real processes on loopback, stopped by pid.
"""

import json
import re
import secrets
import signal
import time

import psycopg
import pytest
import requests
from django.db import OperationalError, connection
from procrastinate.contrib.django.django_connector import wrap_exceptions as procrastinate_errors
from procrastinate.exceptions import ConnectorException

from catalog.services import product_create_with_image
from config.errors import server_error
from retrieval.indexing import embed_pending_images
from tests import processes
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def shown_product(title: str) -> None:
    """A product a shopper can find: its photo admitted and embedded."""
    product_create_with_image(
        merchant=MerchantFactory(),
        data=dataset_photos(1)[0].read_bytes(),
        title=title,
        price="30.00",
    )
    embed_pending_images()


def serve(
    tmp_path, name: str, *, args: list[str], **env_overrides
) -> tuple[str, processes.Service]:
    port = processes.free_port()
    env = processes.service_env(
        tmp_path / name, FIDELIS_BIND=f"{processes.LOOPBACK}:{port}", **env_overrides
    )
    env |= {"FIDELIS_WEB_WORKERS": "1", "FIDELIS_WEB_THREADS": "2"}
    service = processes.start(name, args, env=env, log_dir=tmp_path / "logs")
    return f"http://{processes.LOOPBACK}:{port}", service


def test_serve_runs_gunicorn_with_hashed_static_files_probes_and_json_logs(tmp_path):
    shown_product("Linen shirt")
    base, web = serve(
        tmp_path,
        "web",
        args=["manage.py", "serve"],
        FIDELIS_STATIC_MANIFEST="1",
        FIDELIS_LOG_FORMAT="json",
    )
    try:
        processes.wait_until_serving(web, f"{base}/readyz", timeout=120)
        ready = requests.get(f"{base}/readyz", timeout=10).json()
        assert ready == {
            "status": "ready",
            "checks": {"database": "ok", "queue": "ok", "encoder": "ok"},
        }
        assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}

        home = requests.get(f"{base}/", timeout=10)
        assert home.status_code == 200 and "Linen shirt" in home.text
        stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', home.text)
        assert stylesheet, "the page links a stylesheet with a hashed name"
        css = requests.get(base + stylesheet[1], timeout=10)
        assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"]

        access = [
            json.loads(line) for line in web.log.read_text().splitlines() if '"request"' in line
        ]
        expected = {"method": "GET", "path": "/", "status": 200}.items()
        assert any(expected <= line.items() for line in access), web.tail()
        assert all("remote" not in line and "h" not in line for line in access)
    finally:
        started = time.monotonic()
        web.process.send_signal(signal.SIGTERM)  # the master: a graceful stop
        web.process.wait(40)
        assert time.monotonic() - started < 35 and web.process.returncode == 0, web.tail()
        web.stop()


GUNICORN = ["-m", "gunicorn", "--config", "python:config.gunicorn"]


def nobody_listening() -> str:
    """A database URL on a loopback port where nothing listens."""
    return f"postgres://fidelis@{processes.LOOPBACK}:{processes.free_port()}/fidelis"


def test_an_unreachable_database_gives_503_with_retry_after_never_500(tmp_path):
    base, web = serve(tmp_path, "web", args=GUNICORN, DATABASE_URL=nobody_listening())
    try:
        processes.wait_until_serving(web, f"{base}/healthz", timeout=120)
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith(
            "unreachable"
        )
        page = requests.get(f"{base}/search/", params={"q": "shirt"}, timeout=10)
        api = requests.get(f"{base}/api/v1/search/", params={"q": "shirt"}, timeout=10)
        for answer in (page, api):
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
            assert "try again in 5 seconds" in answer.text
        assert api.json()["error"]["code"] == "database_unavailable"
    finally:
        web.stop()


def test_searches_fall_back_to_the_primary_when_a_replica_is_down(tmp_path):
    shown_product("Wool scarf")
    base, web = serve(tmp_path, "web", args=GUNICORN, DATABASE_REPLICA_URLS=nobody_listening())
    try:
        processes.wait_until_serving(web, f"{base}/healthz", timeout=120)
        for _ in range(3):
            found = requests.get(f"{base}/api/v1/search/", params={"q": "scarf"}, timeout=10)
            assert found.status_code == 200, web.tail()
            assert [hit["product"]["title"] for hit in found.json()["results"]][:1] == [
                "Wool scarf"
            ]
        assert "Replica replica1 is unreachable" in web.log.read_text()
    finally:
        web.stop()


def server_sessions(application_name: str) -> set[tuple[int, object]]:
    """(pid, start) of the database sessions a server holds open, by its libpq name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return set(cursor.fetchall())


def test_the_server_keeps_its_database_connections_between_requests(tmp_path):
    # A new connection forks a PostgreSQL backend: on these machines that cost more than the
    # search's own statements, and it made every search slower under load.
    shown_product("Linen shirt")
    name = f"fidelis-serving-{secrets.token_hex(4)}"
    # Configured by DATABASE_URL, as in production (service_env); PGAPPNAME names its sessions.
    base, web = serve(tmp_path, "web", args=GUNICORN, PGAPPNAME=name)

    def search() -> None:
        found = requests.get(f"{base}/api/v1/search/", params={"q": "shirt"}, timeout=10)
        assert found.status_code == 200, web.tail()

    try:
        processes.wait_until_serving(web, f"{base}/healthz", timeout=120)
        for _ in range(3):
            search()
        kept = server_sessions(name)
        for _ in range(10):
            search()

        # (The analytics thread opens one only while it writes a batch: kept may hold it.)
        assert kept, "the server closed its connections after each request"
        assert kept & server_sessions(name), "the server opened its connections again"
    finally:
        web.stop()


def test_a_job_queued_as_the_connection_drops_gives_503_not_500(rf):
    """A write commits and queues its job on commit; if the primary goes down in between, the
    queue (procrastinate) raises its own error from the driver's. The client gets the same 503
    as for any lost connection, and may retry: writes upsert by SKU."""
    dropped = "server closed the connection unexpectedly"
    try:
        with procrastinate_errors():
            raise OperationalError(dropped) from psycopg.OperationalError(dropped)
    except ConnectorException as queue_error:
        assert not isinstance(queue_error, OperationalError)  # not Django's own error
        answer = server_error(rf.post("/api/v1/merchant/products/"))

    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert b"try again in 5 seconds" in answer.content
