"""manage.py reindex: embed every product image with the configured encoder."""

import sys
import threading
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.db import connection
from tqdm import tqdm

from retrieval.encoders import get_encoder
from retrieval.indexing import embed_in_this_process
from retrieval.models import ImageEmbedding, ProductEmbedding
from retrieval.tasks import embedding_job_defer
from retrieval.vector_index import Graph, drop_vector_indexes, rebuild_vector_indexes


@contextmanager
def index_build_progress(every_s: float = 1.0):
    """A progress bar of the index builds running meanwhile (PostgreSQL's own progress view,
    read on another connection): a rebuild at a million vectors takes tens of minutes."""
    done = threading.Event()

    def follow():
        with tqdm(desc="Building", unit="row", file=sys.stderr) as bar:
            try:
                while not done.wait(every_s):
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT relid::regclass::text, phase, tuples_done, tuples_total "
                            "FROM pg_stat_progress_create_index"
                        )
                        rows = cursor.fetchall()
                    for table, phase, tuples_done, tuples_total in rows[:1]:
                        bar.set_description(f"{table}: {phase}")
                        bar.total = tuples_total or None
                        bar.n = tuples_done or 0
                        bar.refresh()
            finally:
                connection.close()  # this thread's own connection

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        yield
    finally:
        done.set()
        follower.join(timeout=10)


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
        parser.add_argument(
            "--rebuild-index",
            action="store_true",
            help="build the vector indexes with the configured graph (FIDELIS_HNSW_M, "
            "FIDELIS_HNSW_EF_CONSTRUCTION), concurrently, then drop those of other parameters",
        )

    def handle(self, *args, defer: bool, prune: bool, rebuild_index: bool, **options):
        encoder = get_encoder()
        if prune:
            self._prune(keep=encoder.identity)
        if rebuild_index:
            graph = Graph.configured()
            self.stdout.write(
                f"Building the vector indexes of {encoder.identity} with m={graph.m}, "
                f"ef_construction={graph.ef_construction} (searches use the old ones meanwhile)..."
            )
            with index_build_progress():
                dropped = rebuild_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)
            self.stdout.write(f"Built; dropped {len(dropped)} index(es) of other parameters.")
        if defer:
            embedding_job_defer()
            self.stdout.write("Queued an indexing job; a worker will run it.")
            return
        count = embed_in_this_process(encoder)
        self.stdout.write(f"{count} images embedded with {encoder.identity}.")

    def _prune(self, *, keep: str) -> None:
        for model in (ImageEmbedding, ProductEmbedding):
            others = set(model.objects.exclude(encoder=keep).values_list("encoder", flat=True))
            for identity in others:
                drop_vector_indexes(model, identity)
            deleted, _ = model.objects.exclude(encoder=keep).delete()
            self.stdout.write(f"Pruned {deleted} {model._meta.verbose_name_plural} of {others}.")
