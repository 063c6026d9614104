"""Test setup: the embedded PostgreSQL (throw-away under ./fidelis test) or DATABASE_URL."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from config import embedded_db

DATASET = settings.BASE_DIR.parent / "shared" / "datasets" / "clothing-small"


def pytest_configure(config):
    # pytest-django has loaded the settings but opened no connection yet.
    if settings.EMBEDDED_PGDATA:
        embedded_db.start(settings.EMBEDDED_PGDATA, settings.DATABASE_NAME)
    # Threads of the live server and of the in-process workers would keep their connections
    # (CONN_MAX_AGE) and stop the test database from being dropped at the end.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Each test writes its media (public and private) to its own folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    storages = {**settings.STORAGES}
    storages["private"] = {
        **storages["private"],
        "OPTIONS": {**storages["private"].get("OPTIONS", {}), "location": tmp_path / "private"},
    }
    settings.STORAGES = storages
    return settings.MEDIA_ROOT


def dataset_photos(count: int, split: str = "test") -> list[Path]:
    """`count` real photos, taken round-robin over the categories (deterministic)."""
    if not DATASET.is_dir():
        pytest.fail(f"The shared photo set is missing at {DATASET}")
    by_category = [sorted(d.glob("*.jpg")) for d in sorted((DATASET / split).iterdir())]
    photos = []
    for i in range(max(len(c) for c in by_category)):
        photos.extend(c[i] for c in by_category if i < len(c))
    return photos[:count]


@pytest.fixture
def photo_folder(tmp_path):
    """make(count) -> a folder of real photos in category sub-folders, as the import expects."""

    def make(count: int) -> Path:
        root = tmp_path / "photos"
        for photo in dataset_photos(count):
            (root / photo.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(photo, root / photo.parent.name / photo.name)
        return root

    return make


@pytest.fixture
def run_jobs():
    """Run every queued job in this process, as a worker would, and return when none is left."""
    from procrastinate.contrib.django import app

    def work() -> None:
        with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
            worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)

    def run() -> None:
        # In its own thread: Playwright's sync API may leave an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(work).result()

    return run


@pytest.fixture
def image_server():
    """The base URL of a loopback server of image answers (tests/image_server.py); its photo
    is the first test photo."""
    from tests.image_server import image_server_running

    with image_server_running(dataset_photos(1)[0].read_bytes()) as base:
        yield base


@pytest.fixture
def indexed_catalog(photo_folder, run_jobs):
    """50 real photos imported (5 per category) and indexed by the worker."""
    from catalog.models import Product

    call_command("import_catalog", str(photo_folder(50)), stdout=None)
    run_jobs()
    return Product.objects.all()
