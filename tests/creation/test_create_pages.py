"""The merchant's create pages: a form that queues a job, and a job page with a progress bar."""

import pytest
from django.urls import reverse

from creation.models import CreateJob
from creation.services import create_job_run
from tests.factories import MerchantFactory, merchant_user

pytestmark = pytest.mark.django_db


def test_a_merchant_submits_the_form_and_follows_the_job_to_its_concept(client):
    client.force_login(merchant_user(MerchantFactory()))
    page = client.get(reverse("creation:create"))
    assert page.status_code == 200 and 'name="prompt"' in page.content.decode()

    response = client.post(
        reverse("creation:create"), {"prompt": "a striped beach towel", "steps": 2, "num_images": 1}
    )

    job = CreateJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("creation:job", args=[job.pk])
    queued = client.get(response.url).content.decode()
    assert '<progress id="job-progress"' in queued and "Cancel" in queued
    create_job_run(job_id=job.pk)
    done = client.get(response.url).content.decode()
    image = job.images.get()
    assert reverse("creation:image-file", args=[image.pk]) in done
    assert "Generated concept, not a product" in done and "Cancel" not in done


def test_the_form_shows_errors_and_queues_nothing(client):
    client.force_login(merchant_user(MerchantFactory()))

    response = client.post(reverse("creation:create"), {"prompt": "", "steps": 0, "num_images": 1})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not CreateJob.objects.exists()
