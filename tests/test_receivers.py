"""Announcements reach their receivers in every kind of process, not only under pytest.

A receiver that only a weak reference holds dies when nothing else keeps it alive: then a new
product image queued no embedding job, and was never searchable. With DEBUG on, Django's
connect() checks the receiver's signature through an lru_cache whose key holds the function,
which kept it alive by chance in the demo and under pytest; with DEBUG off, as in production and
in the benchmarks, it died at once.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

CHECK = (
    "import gc; gc.collect(); "
    "from catalog.models import ProductImage; "
    "from catalog.signals import product_images_added; "
    "from django.db.backends.signals import connection_created; "
    "print('images-added', product_images_added.has_listeners(ProductImage)); "
    "print('connection-created', connection_created.has_listeners())"
)
SCRIPT = (
    "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
    f"django.setup(); {CHECK}"
)


@pytest.mark.parametrize(
    "args",
    [["manage.py", "shell", "-c", CHECK], ["-c", SCRIPT]],
    ids=["management-command", "plain-django-setup"],
)
def test_every_receiver_is_alive_in_a_fresh_process_with_debug_off(args):
    done = subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert "images-added True" in done.stdout, done.stdout + done.stderr
    assert "connection-created True" in done.stdout
