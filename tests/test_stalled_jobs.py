"""A worker killed mid-job loses nothing: its job goes back to the queue and resumes.

Here: which jobs go back (only those of silent workers) and what a resumed create job keeps.
tests/test_cluster.py kills real worker processes with SIGKILL mid-indexing and mid-create and
checks that the other worker finishes both with no job lost and no duplicate row.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections

from catalog.models import GeneratedImage, ProductImage
from catalog.services import generated_image_register, product_image_create
from creation.models import CreateJob
from creation.services import create_job_run
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, ProductFactory, merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_queue():
    """The queue's tables are not Django models: a transactional test's flush keeps them."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")


def queue_rows(task_name: str) -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, attempts FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [task_name],
        )
        return cursor.fetchall()


def in_own_event_loop(coroutine_function, *args):
    """Run it as a worker does, in an event loop of its own thread (Playwright's plugin runs one
    in this thread); the database connection it opened is closed before the loop ends."""

    async def run():
        try:
            return await coroutine_function(*args)
        finally:
            await sync_to_async(connections.close_all)()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_a_resumed_create_job_keeps_released_images_and_redoes_unreleased_ones():
    """What a worker dying mid-job leaves: one image released, the next registered without its
    bytes. The resumed run keeps the first and makes the second again, once."""
    merchant = MerchantFactory()
    job = CreateJob.objects.create(
        merchant=merchant,
        created_by=merchant_user(merchant),
        prompt="a wool coat",
        seed=40,
        steps=2,
        guidance_scale=5.0,
        num_images=2,
        width=64,
        height=64,
        status=CreateJob.Status.RUNNING,
        steps_done=3,
    )
    photo, other = dataset_photos(2)
    common = {"merchant": merchant, "prompt": "a wool coat", "model_identity": "tiny"}
    released = generated_image_register(data=photo.read_bytes(), seed=40, **common)
    unreleased = generated_image_register(data=other.read_bytes(), seed=41, **common)
    GeneratedImage.objects.filter(pk=unreleased.pk).update(file="")  # died before the bytes
    job.images.add(released, unreleased)

    create_job_run(job_id=job.pk)  # a duplicate delivery, not a retry: nothing happens
    assert CreateJob.objects.get(pk=job.pk).status == CreateJob.Status.RUNNING

    create_job_run(job_id=job.pk, resume=True)

    job.refresh_from_db()
    assert job.status == CreateJob.Status.SUCCEEDED and job.steps_done == 4
    kept, remade = job.images.order_by("seed")
    assert kept.pk == released.pk and remade.seed == 41 and remade.file.name
    assert not GeneratedImage.objects.filter(pk=unreleased.pk).exists()


def test_only_jobs_of_silent_workers_go_back_to_the_queue():
    """The periodic check leaves a live worker's running job alone."""
    from procrastinate.contrib.django import app

    from catalog.stalled_jobs import stalled_jobs_retry

    merchant = MerchantFactory()
    product_image_create(
        product=ProductFactory(merchant=merchant), data=dataset_photos(1)[0].read_bytes()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (NOW()), "
            "(NOW() - INTERVAL '10 minutes') RETURNING id"
        )
        live, silent = (row[0] for row in cursor.fetchall())
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s "
            "WHERE task_name = 'retrieval.embed_pending_images'",
            [live],
        )
    assert in_own_event_loop(stalled_jobs_retry, app) == 0
    assert queue_rows("retrieval.embed_pending_images") == [("doing", 0)]

    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET worker_id = %s", [silent])
    assert in_own_event_loop(stalled_jobs_retry, app) == 1
    assert queue_rows("retrieval.embed_pending_images") == [("todo", 1)]
    assert ProductImage.objects.count() == 1
