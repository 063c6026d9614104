"""manage.py search_judgements import|export FILE --merchant SLUG [--format csv|trec|quepid]

Import adds or regrades (query, SKU) judgements from FILE; export writes them ("-": stdout).
"""

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from analytics.judgements import FORMATS, judgements_export, judgements_import, judgements_parse
from catalog.models import Merchant


class Command(BaseCommand):
    help = "Import or export a merchant's judgement list (CSV, TREC qrels, Quepid CSV)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("file", help='a path, or "-" for standard output (export)')
        parser.add_argument("--merchant", required=True)
        parser.add_argument("--format", choices=FORMATS, default="csv")

    def handle(self, *args, action: str, file: str, merchant: str, format: str, **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            raise CommandError(f"No merchant {merchant!r}: pass the slug of an existing shop.")
        if action == "export":
            text = judgements_export(merchant=shop, fmt=format)
            if file == "-":
                sys.stdout.write(text)
            else:
                Path(file).write_text(text, encoding="utf-8")
            return
        try:
            text = Path(file).read_text(encoding="utf-8")
            rows = judgements_parse(text, fmt=format)
        except (OSError, UnicodeDecodeError) as err:
            raise CommandError(f"Cannot read {file}: {err}") from err
        except ValidationError as err:
            raise CommandError(f"{file}: {' '.join(err.messages)}") from err
        count = judgements_import(merchant=shop, rows=rows)
        self.stdout.write(f"{count} judgements imported for {shop.slug}.")
