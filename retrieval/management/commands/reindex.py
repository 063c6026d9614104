"""manage.py reindex: embed every product image with the configured encoder."""

import sys

from django.core.management.base import BaseCommand
from django.db import connection
from psycopg import sql
from tqdm import tqdm

from catalog.models import ProductImage
from retrieval.encoders import get_encoder
from retrieval.indexing import embed_pending_images
from retrieval.models import ImageEmbedding, ProductEmbedding
from retrieval.tasks import embedding_job_defer
from retrieval.vector_index import index_name


class Command(BaseCommand):
    help = (
        "Embed every product image that has no vector from the configured encoder yet. "
        "Vectors of other encoders are kept apart (never compared) until --prune removes them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--defer", action="store_true", help="queue the work for the workers instead"
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="delete the vectors and indexes of every other encoder",
        )

    def handle(self, *args, defer: bool, prune: bool, **options):
        encoder = get_encoder()
        if prune:
            self._prune(keep=encoder.identity)
        if defer:
            embedding_job_defer()
            self.stdout.write("Queued an indexing job; a worker will run it.")
            return
        pending = ProductImage.objects.exclude(embeddings__encoder=encoder.identity).count()
        with tqdm(total=pending, desc="Indexing", unit="image", file=sys.stderr) as bar:
            count = embed_pending_images(encoder=encoder, on_batch=bar.update)
        self.stdout.write(f"{count} images embedded with {encoder.identity}.")

    def _prune(self, *, keep: str) -> None:
        for model in (ImageEmbedding, ProductEmbedding):
            others = set(model.objects.exclude(encoder=keep).values_list("encoder", flat=True))
            for identity in others:
                with connection.cursor() as cursor:
                    cursor.execute(
                        sql.SQL("DROP INDEX IF EXISTS {}")
                        .format(sql.Identifier(index_name(model, identity)))
                        .as_string(connection.connection)
                    )
            deleted, _ = model.objects.exclude(encoder=keep).delete()
            self.stdout.write(f"Pruned {deleted} {model._meta.verbose_name_plural} of {others}.")
