"""Catalog jobs on the Postgres queue: re-check the catalog when a generated image is registered,
import feeds, and put back the jobs of workers that died."""

import logging

from django.conf import settings
from procrastinate import JobContext
from procrastinate.contrib.django import app

from catalog import services, stalled_jobs
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


@app.task(name="catalog.import_feed", queue="import", pass_context=True)
def import_feed_job(context: JobContext, feed_import_id: int) -> str:
    job = FeedImport.objects.filter(pk=feed_import_id).select_related("merchant").first()
    # A retried job (its worker died mid-import) runs the import again: rows upsert by SKU.
    runnable = {FeedImport.Status.QUEUED} | (
        {FeedImport.Status.RUNNING} if context.job.attempts else set()
    )
    if job is None or job.status not in runnable:  # deleted, or already run
        return "skipped"
    job = services.feed_import_run(job=job)
    logger.info("Feed import %s: %s", job.pk, job.report.get("summary", job.error))
    return job.status


# Every worker runs the periodic deferrer; one job per tick is queued, whoever defers it.
@app.periodic(cron=f"* * * * * */{settings.FIDELIS_STALLED_CHECK_EVERY_S}")
@app.task(
    name="fidelis.retry_stalled_jobs",
    queue="maintenance",
    queueing_lock="retry-stalled-jobs",
    pass_context=True,
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    return await stalled_jobs.stalled_jobs_retry(context.app)
