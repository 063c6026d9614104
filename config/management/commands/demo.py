"""manage.py demo [FOLDER]: a ready shop on http://127.0.0.1:8000 with a background worker."""

from __future__ import annotations

import csv
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.demo_data import FEED_COLUMNS, demo_feed_rows
from catalog.models import Merchant
from catalog.services import merchant_add_user, merchant_create
from config import embedded_db

DEFAULT_PHOTOS = settings.BASE_DIR.parent / "shared" / "datasets" / "clothing-small"
DEMO_MERCHANT = "demo"
DEMO_USER, DEMO_PASSWORD = "merchant", "fidelis-demo"


class Command(BaseCommand):
    help = "Migrate, import and index a demo catalog, then serve the shop and run a worker."

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_PHOTOS)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="set up, then exit")

    def handle(self, *args, folder: Path, host: str, port: int, no_serve: bool, **options):
        if not no_serve:
            _ensure_port_free(host, port)
        self.stdout.write("Migrating the database ...")
        call_command("migrate", interactive=False, verbosity=0)
        merchant = demo_merchant()
        feed = demo_feed_write(folder, settings.VAR_DIR / "demo-feed.csv")
        self.stdout.write(f"Importing the demo feed {feed} (Merchant Center fields) ...")
        call_command(
            "import_feed",
            str(feed),
            merchant=merchant.slug,
            image_root=folder,
            stdout=self.stdout,
            stderr=self.stderr,
        )
        self._index()
        demo_synonyms_ensure(merchant)
        demo_judgements_ensure(merchant)
        if no_serve:
            return
        demo_user_enable(merchant)
        url = f"http://{host}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(f"\nFidelis is running on {url}\n")
            + f"Merchant login: {DEMO_USER} / {DEMO_PASSWORD}\n"
            + f"  studio (search to create): {url}studio/\n"
            + f"  admin: {url}admin/   API docs: {url}api/docs/\n"
            + "Press Ctrl+C to stop.\n"
        )
        self._serve(host, port)

    def _index(self) -> None:
        from retrieval.encoders import get_encoder
        from retrieval.indexing import embed_in_this_process

        embed_in_this_process(get_encoder())

    def _serve(self, host: str, port: int) -> None:
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        worker = subprocess.Popen([*manage, "procrastinate", "worker"])
        server = subprocess.Popen([*manage, "runserver", f"{host}:{port}", "--noreload"])
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (server, worker):
                process.terminate()
            for process in (server, worker):
                process.wait(timeout=15)
            demo_user_disable()
            if settings.EMBEDDED_PGDATA:
                embedded_db.stop(settings.EMBEDDED_PGDATA)
                self.stdout.write("Stopped the embedded PostgreSQL (data kept in var/).")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _ensure_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise CommandError(
                f"Port {port} on {host} is busy: stop the program using it, or run "
                f"./fidelis demo --port {port + 1}"
            ) from None


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def demo_feed_write(folder: Path, feed: Path) -> Path:
    """A feed file of the photos under `folder` (deterministic titles, prices, brands, colours,
    sizes, a few variant groups): the demo loads its shop the way a real shop would."""
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder: give the folder that holds the photos.")
    photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise CommandError(f"No .jpg, .png or .webp files under {folder}.")
    feed.parent.mkdir(parents=True, exist_ok=True)
    with feed.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FEED_COLUMNS)
        writer.writeheader()
        writer.writerows(demo_feed_rows(folder, photos))
    return feed


def demo_merchant() -> Merchant:
    return Merchant.objects.filter(slug=DEMO_MERCHANT).first() or merchant_create(
        name="Demo Outfitters", slug=DEMO_MERCHANT
    )


def demo_user_enable(merchant: Merchant) -> None:
    """The demo's public login exists only while the demo serves: a shop that started from the
    demo's data must not keep a staff user whose password is printed in the README."""
    User = get_user_model()
    user = User.objects.filter(username=DEMO_USER).first()
    if user is None:
        user = User.objects.create_user(DEMO_USER, password=DEMO_PASSWORD)
        merchant_add_user(merchant=merchant, user=user)
    else:
        user.set_password(DEMO_PASSWORD)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])


def demo_user_disable() -> None:
    """Lock the demo login and revoke its API tokens (its jobs and boards are kept)."""
    from knox.models import AuthToken

    User = get_user_model()
    for user in User.objects.filter(username=DEMO_USER):
        user.set_unusable_password()
        user.is_active = False
        user.save(update_fields=["password", "is_active"])
        AuthToken.objects.filter(user=user).delete()


# What shoppers type for the demo catalog's own words.
DEMO_SYNONYMS = [
    ("one_way", ["jeans", "pants", "chinos"], ["trousers"]),
    ("one_way", ["coat", "parka"], ["jacket"]),
    ("one_way", ["blue"], ["navy", "sky"]),  # the catalog names its blues
    ("equivalent", ["sneakers", "trainers", "running shoes"], []),
    ("equivalent", ["t-shirt", "tee"], []),
]


def demo_synonyms_ensure(merchant) -> None:
    """The demo shop's synonym sets, once (a second run keeps any the merchant changed)."""
    from retrieval.synonyms import synonym_save

    if merchant.synonyms.exists():
        return
    for kind, terms, synonyms in DEMO_SYNONYMS:
        synonym_save(merchant=merchant, kind=kind, terms=terms, synonyms=synonyms)


def demo_judgements_ensure(merchant) -> None:
    """A judgement list from the dataset's own labels, once: for each category's noun, the
    category's products are relevant (2) and a few of other categories are not (0). With the
    demo's random weights the vector half scores near chance; the keyword half does the work.
    `./fidelis manage search_eval --merchant demo` scores it."""
    from analytics.judgements import judgements_import
    from catalog.demo_data import NOUNS, demo_category_name

    if merchant.judgements.exists():
        return
    products = list(merchant.products.values_list("sku", "category__name").order_by("sku"))
    rows = []
    for folder, noun in sorted(NOUNS.items()):
        query, name = noun.lower(), demo_category_name(folder)
        rows += [(query, sku, 2) for sku, category in products if category == name]
        rows += [(query, sku, 0) for sku, category in products if category != name][:10]
    judgements_import(merchant=merchant, rows=rows)
