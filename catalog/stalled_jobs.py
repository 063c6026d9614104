"""Jobs whose worker died go back to the queue.

A worker killed mid-job (kill -9, an out-of-memory kill, a lost machine) leaves its job in
`doing` for ever: procrastinate never retries it by itself. Every worker writes a heartbeat;
this finds the jobs of workers whose heartbeat is older than FIDELIS_STALLED_AFTER_S and queues
them again. Each task is safe to run twice: indexing claims rows with SKIP LOCKED, a create job
resumes after its last registered image, a feed import upserts by SKU, a re-check is read-only
until it quarantines.
"""

import logging

from django.conf import settings
from procrastinate import App, exceptions, jobs

logger = logging.getLogger("fidelis.tasks")


async def stalled_jobs_retry(app: App) -> int:
    """Queue every stalled job again; return how many went back to the queue."""
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.FIDELIS_STALLED_AFTER_S
    )
    retried = 0
    for job in stalled:
        try:
            await manager.retry_job(job)
        except exceptions.UniqueViolation:
            # A job with the same queueing lock is already waiting and will do this work
            # (e.g. the next indexing run): this copy is closed instead of queued twice.
            await manager.finish_job_by_id_async(
                job_id=job.id, status=jobs.Status.FAILED, delete_job=False
            )
            logger.warning(
                "Stalled job %s (%s) closed: a waiting one replaces it", job.id, job.task_name
            )
        else:
            retried += 1
            logger.warning("Stalled job %s (%s) queued again", job.id, job.task_name)
    return retried
