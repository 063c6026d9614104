"""Create jobs on the same Postgres queue as indexing; any number of workers share them."""

from procrastinate.contrib.django import app

from creation import services


@app.task(name="creation.run_create_job", queue="creation")
def run_create_job(job_id: int) -> None:
    services.create_job_run(job_id=job_id)
