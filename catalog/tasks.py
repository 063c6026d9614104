"""Catalog jobs on the Postgres queue: re-check the catalog when a generated image is registered."""

import logging

from procrastinate.contrib.django import app

from catalog import services
from catalog.models import FeedImport, GeneratedImage

logger = logging.getLogger("fidelis.guard")


@app.task(name="catalog.recheck_catalog_against", queue="guard")
def recheck_catalog_against(entry_id: int) -> int:
    entry = GeneratedImage.objects.filter(pk=entry_id).first()
    if entry is None:  # the entry was deleted before the job ran
        return 0
    quarantined = services.catalog_recheck_against(entry=entry)
    for image in quarantined:
        logger.warning("Quarantined product image %s: matches generated #%s", image.pk, entry_id)
    return len(quarantined)


@app.task(name="catalog.import_feed", queue="import")
def import_feed_job(feed_import_id: int) -> str:
    job = FeedImport.objects.filter(pk=feed_import_id).select_related("merchant").first()
    if job is None or job.status != FeedImport.Status.QUEUED:  # deleted, or already run
        return "skipped"
    job = services.feed_import_run(job=job)
    logger.info("Feed import %s: %s", job.pk, job.report.get("summary", job.error))
    return job.status
