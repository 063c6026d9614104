"""Create jobs on the same Postgres queue as indexing; any number of workers share them."""

from procrastinate import JobContext
from procrastinate.contrib.django import app

from creation import services


@app.task(name="creation.run_create_job", queue="creation", pass_context=True)
def run_create_job(context: JobContext, job_id: int) -> None:
    # attempts > 0: this job went back to the queue after its worker died (stalled_jobs.py).
    services.create_job_run(job_id=job_id, resume=context.job.attempts > 0)
