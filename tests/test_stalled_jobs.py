"""A worker killed mid-job (kill -9) loses nothing: another worker finishes its job.

Real worker processes on this test's database. A test holds a table lock from its own
connection, so the first worker's job is caught mid-run (it waits on the lock, its row locks
and steps taken); the worker is then killed with SIGKILL, and a second worker's periodic check
finds the job of the silent worker and queues it again.
"""

import os
import signal
import time

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from catalog.models import GeneratedImage, ProductImage
from catalog.services import generated_image_register, product_image_create
from creation.models import CreateJob
from creation.services import create_job_run
from retrieval.models import ImageEmbedding
from tests import processes
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, ProductFactory, merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_queue():
    """The queue's tables are not Django models: a transactional test's flush keeps them."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")


# Heartbeats every 0.5 s: a worker silent for 1.5 s is taken as dead; checked every second.
FAST_RECOVERY = {"FIDELIS_WORKER_HEARTBEAT_S": "0.5", "FIDELIS_STALLED_CHECK_EVERY_S": "1"}


def queue_rows(task_name: str) -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, attempts FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
            [task_name],
        )
        return cursor.fetchall()


def wait_for(condition, *, timeout: float, services, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    logs = "\n".join(service.tail() for service in services)
    raise AssertionError(f"{what} did not happen within {timeout} s\n{logs}")


def kill_mid_job(tmp_path, *, table: str, task_name: str, finished, timeout: float = 90):
    """Run the queued job on worker A while `table` is locked, SIGKILL A mid-job, release the
    lock and let worker B recover the job; return B's log once `finished()` holds."""
    env = processes.service_env(tmp_path / "var", **FAST_RECOVERY)
    logs = tmp_path / "logs"
    lock = psycopg.connect(processes.database_url().replace("postgres://", "postgresql://"))
    services = []
    try:
        lock.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # held until commit
        services.append(processes.start_worker("worker-a", env=env, log_dir=logs))
        wait_for(
            lambda: ("doing", 0) in queue_rows(task_name),
            timeout=60,
            services=services,
            what="worker A taking the job",
        )
        time.sleep(0.5)  # A is now waiting on the lock, mid-job
        os.killpg(services[0].process.pid, signal.SIGKILL)
        services[0].process.wait(10)
        lock.commit()
        services.append(processes.start_worker("worker-b", env=env, log_dir=logs))
        wait_for(finished, timeout=timeout, services=services, what="worker B finishing")
        return services[1].log.read_text()
    finally:
        lock.close()
        for service in services:
            service.stop()


def test_an_indexing_job_whose_worker_is_killed_is_finished_by_another_worker(tmp_path):
    merchant = MerchantFactory()
    images = [
        product_image_create(product=ProductFactory(merchant=merchant), data=photo.read_bytes())
        for photo in dataset_photos(6)
    ]
    assert queue_rows("retrieval.embed_pending_images") == [("todo", 0)]

    def all_embedded() -> bool:
        return ImageEmbedding.objects.filter(image__in=images).count() == len(images)

    log = kill_mid_job(
        tmp_path,
        table=ImageEmbedding._meta.db_table,
        task_name="retrieval.embed_pending_images",
        finished=all_embedded,
    )

    # Every image embedded exactly once, by the retried job; nothing left running. (The retry
    # and the finish each count an attempt.)
    counts = ImageEmbedding.objects.filter(image__in=images).values_list("image_id", flat=True)
    assert sorted(counts) == sorted(image.pk for image in images)
    assert queue_rows("retrieval.embed_pending_images") == [("succeeded", 2)]
    assert "queued again" in log


def test_a_create_job_whose_worker_is_killed_is_finished_without_duplicate_images(client, tmp_path):
    merchant = MerchantFactory()
    client.force_login(merchant_user(merchant))
    answer = client.post(
        reverse("api-create-jobs"),
        {
            "prompt": "a linen summer dress",
            "seed": 5,
            "steps": 2,
            "num_images": 2,
            "width": 64,
            "height": 64,
        },
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]

    def succeeded() -> bool:
        return CreateJob.objects.get(pk=job_id).status == CreateJob.Status.SUCCEEDED

    kill_mid_job(
        tmp_path,
        table=GeneratedImage._meta.db_table,
        task_name="creation.run_create_job",
        finished=succeeded,
    )

    job = CreateJob.objects.get(pk=job_id)
    images = list(job.images.order_by("seed"))
    assert [image.seed for image in images] == [5, 6]
    assert all(image.file.name for image in images)  # released, not only registered
    assert GeneratedImage.objects.filter(merchant=merchant).count() == 2  # no duplicates
    assert job.steps_done == 4  # the restarted run counted its steps once
    assert queue_rows("creation.run_create_job") == [("succeeded", 2)]


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
    from asgiref.sync import async_to_sync
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
    assert async_to_sync(stalled_jobs_retry)(app) == 0
    assert queue_rows("retrieval.embed_pending_images") == [("doing", 0)]

    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET worker_id = %s", [silent])
    assert async_to_sync(stalled_jobs_retry)(app) == 1
    assert queue_rows("retrieval.embed_pending_images") == [("todo", 1)]
    assert ProductImage.objects.count() == 1
