"""Background jobs on the Postgres queue (procrastinate); workers run on any number of machines."""

import contextlib
import logging

from django.conf import settings
from procrastinate import exceptions
from procrastinate.contrib.django import app

from analytics.tasks import refresh_popular_queries
from retrieval import indexing
from retrieval.keyword import lexicon_refresh

logger = logging.getLogger("fidelis.tasks")

# At most one *waiting* indexing job: a running job loops until no image is left, and a new
# image committed while it runs queues the next one, so no image is ever missed.
EMBED_LOCK = "embed-pending-images"


@app.task(name="retrieval.embed_pending_images", queue="indexing", queueing_lock=EMBED_LOCK)
def embed_pending_images() -> int:
    count = indexing.embed_pending_images(gather_s=settings.FIDELIS_INDEXING_GATHER_S)
    logger.info("Indexed %d product images", count)
    if count:
        lexicon_refresh_after_indexing()  # new products' words become typo-correctable
    return count


def embedding_job_defer() -> None:
    # AlreadyEnqueued: a waiting job exists and will pick these images up.
    with contextlib.suppress(exceptions.AlreadyEnqueued):
        embed_pending_images.defer()


# An image's job is queued when its row commits; if that fails (the primary went down between
# the commit and the queueing, a 503 to the writer), nothing else would queue one until the next
# new image. Every worker runs the periodic deferrer; one sweep per tick is queued, whoever
# defers it, and it queues an indexing job only when the backlog holds an image.
@app.periodic(cron=f"* * * * * */{settings.FIDELIS_INDEXING_SWEEP_S}")
@app.task(
    name="retrieval.sweep_pending_images", queue="indexing", queueing_lock="sweep-pending-images"
)
def sweep_pending_images(timestamp: int) -> bool:
    if not indexing.backlog_waiting():
        return False
    embedding_job_defer()
    return True


# One waiting refresh is enough: it reads the catalog as it is when it runs.
LEXICON_LOCK = "refresh-lexicon"


@app.task(name="retrieval.refresh_lexicon", queue="indexing", queueing_lock=LEXICON_LOCK)
def refresh_lexicon() -> None:
    lexicon_refresh()
    # A popular query whose products were all hidden must stop being suggested too.
    with contextlib.suppress(exceptions.AlreadyEnqueued):
        refresh_popular_queries.defer()


# A refresh reads the whole catalog (1.1 s at 100,000 products). Run after every indexing
# job, it ran every few seconds during a feed import, each time the worker caught up: refreshes
# after indexing wait this long instead, and all the jobs meanwhile share one.
LEXICON_AFTER_INDEXING_LOCK = "refresh-lexicon-after-indexing"


def lexicon_refresh_after_indexing() -> None:
    refresh = refresh_lexicon.configure(
        queueing_lock=LEXICON_AFTER_INDEXING_LOCK,
        schedule_in={"seconds": settings.FIDELIS_LEXICON_REFRESH_DELAY_S},
    )
    with contextlib.suppress(exceptions.AlreadyEnqueued):
        refresh.defer()


def lexicon_refresh_defer() -> None:
    """After a product's visibility changed (quarantine, release, deactivation, unpublishing):
    its words leave or rejoin the typo-correction lexicon. Runs after the commit, outside any
    transaction, so a waiting refresh (AlreadyEnqueued) cannot abort the caller's."""
    from django.db import transaction

    def defer() -> None:
        with contextlib.suppress(exceptions.AlreadyEnqueued):
            refresh_lexicon.defer()

    transaction.on_commit(defer)
