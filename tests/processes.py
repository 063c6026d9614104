"""Real Fidelis processes for tests of what crosses processes: an HTTP server, queue workers.

Each process runs in its own process group on a loopback address, writes to its own log (its
tail is shown when a test fails), and is stopped by its pid. Nothing here waits without a
deadline.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

LOOPBACK = "127.0.0.1"


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- last lines of {self.name} ({self.log}) ---\n{text[-chars:]}"

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its group: gunicorn's workers too
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test runs on (the test database, not the demo's)."""
    db = connection.settings_dict
    credentials = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    # A unix socket directory is written as a percent-encoded host.
    host = quote(db["HOST"] or "", safe="")
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def service_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a process that shares this test's database and media."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "FIDELIS_VAR_DIR": str(var_dir),
        "FIDELIS_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DJANGO_DEBUG": "0",  # as in production
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("FIDELIS_PGDATA", None)
    env.update(overrides)
    return env


def start(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Service:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Service(name, process, log)


def start_worker(name: str, *, env: dict[str, str], log_dir: Path) -> Service:
    return start(name, ["manage.py", "procrastinate", "worker"], env=env, log_dir=log_dir)


def start_web(name: str, *, port: int, env: dict[str, str], log_dir: Path) -> Service:
    args = ["-m", "gunicorn", "config.wsgi:application", "--bind", f"{LOOPBACK}:{port}"]
    args += ["--workers", "1", "--threads", "2", "--timeout", "120", "--no-control-socket"]
    return start(name, args, env=env, log_dir=log_dir)


def wait_until_serving(service: Service, url: str, *, timeout: float = 90) -> None:
    """Poll `url` until it answers 200; fail with the service's log if it dies or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(
                f"{service.name} exited ({service.process.returncode})\n" + service.tail()
            )
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting up
            pass
        time.sleep(0.2)
    raise AssertionError(
        f"{service.name} did not serve {url} within {timeout} s\n" + service.tail()
    )


def admin_session(base: str, username: str, password: str) -> requests.Session:
    """A session signed in to the admin at `base` over HTTP."""
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=10)
    answer = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=10,
    )
    assert answer.ok and "sessionid" in session.cookies, answer.text[:500]
    return session


def admin_product_add(session: requests.Session, base: str, *, title: str, photo: Path) -> None:
    """Add a product with one photo through the admin's form, as a merchant does."""
    url = f"{base}/admin/catalog/product/add/"
    form = session.get(url, timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    fields = {
        "csrfmiddlewaretoken": token,
        "title": title,
        "slug": title.lower().replace(" ", "-"),
        "sku": "",
        "price": "24.90",
        "currency": "EUR",
        "stock_quantity": "4",
        "is_active": "on",
        "availability": "in_stock",
        "condition": "new",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-position": "0",
    }
    with photo.open("rb") as fh:
        files = {"images-0-file": (photo.name, fh, "image/jpeg")}
        answer = session.post(url, data=fields, files=files, timeout=60, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:2000]  # saved: back to the list
