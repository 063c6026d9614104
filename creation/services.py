"""Create jobs: submit (checked, within quota), run (generate, tag, register), cancel."""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image
from rest_framework import exceptions

from catalog.models import Merchant, ProductImage
from catalog.services import generated_image_register
from creation import generators, tagging
from creation.models import CreateJob

logger = logging.getLogger("fidelis.creation")


class QuotaExceeded(exceptions.Throttled):
    """Too many create jobs this hour: 429 with Retry-After in the API, a message on pages."""

    default_code = "quota_exceeded"


@dataclass(frozen=True)
class CreateRequest:
    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    steps: int = 20
    guidance_scale: float = 7.5
    width: int | None = None
    height: int | None = None
    num_images: int = 1
    source_image: ProductImage | None = None
    fidelity: float | None = None


def strength_for(fidelity: float, steps: int) -> float:
    """strength = 1 - fidelity, kept where the pipeline runs at least one denoising step."""
    return min(1.0, max(1.0 - fidelity, 1.0 / steps))


def create_job_submit(*, merchant: Merchant, user, request: CreateRequest) -> CreateJob:
    """Check the quota, write the job and queue it. Returns at once; the work runs on a worker."""
    from creation.tasks import run_create_job  # tasks import this module

    if request.source_image is not None and request.source_image.product.merchant_id != merchant.pk:
        raise ValidationError("Pick one of your own product images.", code="not_your_product")
    if request.fidelity is not None and request.fidelity >= 1:
        raise ValidationError(
            "Fidelity 1 keeps the real product unchanged: there is nothing to create.",
            code="fidelity_is_one",
        )
    size = generators.generator_sizes().default_size
    with transaction.atomic():
        _check_quota(merchant)
        job = CreateJob.objects.create(
            merchant=merchant,
            created_by=user,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            seed=request.seed if request.seed is not None else secrets.randbelow(2**32),
            steps=request.steps,
            guidance_scale=request.guidance_scale,
            width=request.width or size,
            height=request.height or size,
            num_images=request.num_images,
            source_image=request.source_image,
            fidelity=request.fidelity,
            strength=(
                strength_for(request.fidelity, request.steps)
                if request.source_image is not None
                else None
            ),
        )
        job.steps_total = job.num_images * generators.inference_steps(job.steps, job.strength)
        job.save(update_fields=["steps_total"])
        transaction.on_commit(lambda: run_create_job.defer(job_id=job.pk))
    return job


def _check_quota(merchant: Merchant) -> None:
    """Count this hour's jobs under a lock on the merchant's row, inside the transaction that
    inserts the new job: two requests at once can no longer both see room for one more."""
    Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
    limit = settings.FIDELIS_CREATE_JOBS_PER_HOUR
    since = timezone.now() - datetime.timedelta(hours=1)
    recent = CreateJob.objects.filter(merchant=merchant, created_at__gte=since)
    count = recent.count()
    if count >= limit:
        oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
        wait = (oldest - since).total_seconds() if oldest else 3600
        raise QuotaExceeded(
            detail=f"Your shop made {count} create jobs in the last hour and the limit is "
            f"{limit}: try again in {max(1, round(wait / 60))} minutes.",
            wait=max(1, wait),
        )


def create_job_cancel(*, job: CreateJob) -> CreateJob:
    """Ask a queued or running job to stop; it stops between two denoising steps."""
    if job.status in CreateJob.FINISHED:
        raise ValidationError(f"The job already {job.status}.", code="job_finished")
    updated = CreateJob.objects.filter(pk=job.pk, status=CreateJob.Status.QUEUED).update(
        status=CreateJob.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    if not updated:
        CreateJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _finish(job: CreateJob, status: str, error: str = "") -> None:
    CreateJob.objects.filter(pk=job.pk).update(
        status=status, error=error, finished_at=timezone.now()
    )


_STEP_DONE_SQL = (
    f"UPDATE {CreateJob._meta.db_table} SET steps_done = steps_done + 1 "
    "WHERE id = %s RETURNING cancel_requested"
)


def _create_job_claim(job_id: int, *, resume: bool) -> bool:
    """Mark a queued job running. A resumed job (its worker died mid-run) is running already:
    its images whose bytes never reached storage are dropped (no one ever saw them), the
    others are kept, and the step count restarts from what they cost."""
    claimed = CreateJob.objects.filter(pk=job_id, status=CreateJob.Status.QUEUED).update(
        status=CreateJob.Status.RUNNING
    )
    if claimed or not resume:
        return bool(claimed)
    job = CreateJob.objects.filter(pk=job_id, status=CreateJob.Status.RUNNING).first()
    if job is None:
        return False
    with transaction.atomic():
        job.images.filter(file="").delete()
        CreateJob.objects.filter(pk=job.pk).update(steps_done=job.images.count() * job.steps)
    logger.warning("Create job %s resumed after its worker stopped", job_id)
    return True


def create_job_run(*, job_id: int, resume: bool = False) -> None:
    """The worker's side: generate each image, tag it, register it, then release it.
    `resume` (a retry of a job whose worker died) continues after the last registered image."""
    if not _create_job_claim(job_id, resume=resume):  # gone, cancelled, or already run
        return
    job = CreateJob.objects.select_related("merchant", "source_image").get(pk=job_id)
    try:
        generator = generators.get_generator()
        CreateJob.objects.filter(pk=job.pk).update(model_identity=generator.identity)
        source = None
        if job.source_image is not None:
            with job.source_image.file.open("rb") as fh:
                source = Image.open(fh)
                source.load()

        def on_step(done: int) -> bool:
            # One statement per step: count it and read whether a cancel was asked for.
            with connection.cursor() as cursor:
                cursor.execute(_STEP_DONE_SQL, [job.pk])
                row = cursor.fetchone()
            return row is not None and not row[0]

        done_seeds = set(job.images.values_list("seed", flat=True))
        for index in range(job.num_images):
            seed = job.seed + index
            if seed in done_seeds:
                continue
            image = generators.generate(
                prompt=job.prompt,
                negative_prompt=job.negative_prompt,
                seed=seed,
                steps=job.steps,
                guidance_scale=job.guidance_scale,
                width=job.width,
                height=job.height,
                init_image=source,
                strength=job.strength,
                on_step=on_step,
            )
            data = tagging.tag_generated(
                image, prompt=job.prompt, model_identity=generator.identity
            )
            generated_image_register(
                merchant=job.merchant,
                data=data,
                prompt=job.prompt,
                negative_prompt=job.negative_prompt,
                seed=seed,
                model_identity=generator.identity,
                source_image=job.source_image,
                fidelity=job.fidelity,
                # Linked in the registration's transaction: a worker dying in between
                # cannot leave an image the job does not know (and would make again).
                on_registered=job.images.add,
            )
    except generators.Cancelled:
        _finish(job, CreateJob.Status.CANCELLED)
    except Exception as err:
        logger.exception("Create job %s failed", job.pk)
        _finish(job, CreateJob.Status.FAILED, f"{type(err).__name__}: {err}")
    else:
        _finish(job, CreateJob.Status.SUCCEEDED)
