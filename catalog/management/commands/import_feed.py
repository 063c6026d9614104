"""manage.py import_feed FILE_OR_URL --merchant SLUG: upsert a Merchant Center feed."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.feeds.errors import FeedError
from catalog.feeds.fetching import SourceError, feed_download
from catalog.models import Merchant
from catalog.services import feed_import, merchant_create

SHOWN_ERRORS = 50  # the rest are counted; --report writes them all


class Command(BaseCommand):
    help = (
        "Import a product feed (CSV, tab-separated or JSON Lines with Google Merchant Center "
        "attribute names: id, title, description, link, image_link, additional_image_link, "
        "price, sale_price, availability, brand, color, size, material, gtin, item_group_id, "
        "product_type; quantity for the stock count). Rows are upserted by id; a re-run of an "
        "unchanged feed writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("feed", help="a feed file, or an http(s) URL")
        parser.add_argument("--merchant", required=True, help="the shop's slug")
        parser.add_argument(
            "--create-merchant", action="store_true", help="create the merchant if it is missing"
        )
        parser.add_argument(
            "--delete-missing",
            action="store_true",
            help="delete the shop's products that the feed no longer lists",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would change; write nothing"
        )
        parser.add_argument(
            "--image-root",
            type=Path,
            help="the folder that image paths are relative to (default: the feed's folder)",
        )
        parser.add_argument("--report", type=Path, help="write the whole report here as JSON")

    def handle(self, *args, feed: str, merchant: str, **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None and options["create_merchant"]:
            shop = merchant_create(name=merchant.replace("-", " ").title(), slug=merchant)
        if shop is None:
            raise CommandError(
                f"No merchant {merchant!r}: create it in the admin, or add --create-merchant."
            )
        stream, base = self._open(feed)
        if options["image_root"]:
            base = options["image_root"]
        bar = tqdm(total=100, desc="Importing", unit="%", file=self.stderr._out)

        def progress(rows: int, fraction: float) -> None:
            bar.set_postfix_str(f"{rows} rows")
            bar.update(round(fraction * 100) - bar.n)

        try:
            with stream:
                report = feed_import(
                    merchant=shop,
                    stream=stream,
                    name=feed,
                    base=base,
                    delete_missing=options["delete_missing"],
                    dry_run=options["dry_run"],
                    progress=progress,
                )
        except FeedError as err:
            raise CommandError(f"{err.message} Nothing was imported.") from None
        finally:
            bar.close()
        for error in report.errors[:SHOWN_ERRORS]:
            where = f"row {error.row}" + (f", {error.field}" if error.field else "")
            self.stderr.write(f"{where}: {error.message}")
        if len(report.errors) > SHOWN_ERRORS:
            self.stderr.write(f"... and {len(report.errors) - SHOWN_ERRORS} more errors.")
        if options["report"]:
            options["report"].write_text(json.dumps(report.as_dict(), indent=2))
        self.stdout.write(report.summary())

    def _open(self, feed: str):
        if urlsplit(feed).scheme in ("http", "https"):
            try:
                return feed_download(feed), None
            except SourceError as err:
                raise CommandError(err.message) from None
        path = Path(feed)
        if not path.is_file():
            raise CommandError(f"{feed} is not a file: give the feed's path or an http(s) URL.")
        return path.open("rb"), path.parent
