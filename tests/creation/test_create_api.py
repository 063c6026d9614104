"""Create mode over HTTP: merchant-only jobs with progress, tagged, signed and registered images."""

import io
import json

import c2pa
import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from catalog.models import GeneratedImage, ProductImage
from catalog.services import product_image_create
from creation.models import CreateJob
from creation.services import create_job_run
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, ProductFactory, UserFactory, merchant_user

pytestmark = pytest.mark.django_db
JOBS = reverse("api-create-jobs")
TINY = {"prompt": "a linen summer dress", "seed": 11, "steps": 3, "width": 64, "height": 64}


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def api(client, merchant):
    client.force_login(merchant_user(merchant))
    return client


def submit(client, **params):
    return client.post(JOBS, params, content_type="application/json")


def finished(client, job_id: int) -> dict:
    create_job_run(job_id=job_id)  # what a worker does with the queued job
    return client.get(reverse("api-create-job", args=[job_id])).json()


def pixels(client, url: str) -> np.ndarray:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(b"".join(response.streaming_content))))


def test_text_to_image_job_returns_at_once_then_reports_progress_and_a_tagged_image(api, merchant):
    response = submit(api, **TINY, negative_prompt="blurry")

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued" and job["progress"] == 0 and job["steps_total"] == 3

    done = finished(api, job["id"])

    assert done["status"] == "succeeded" and done["progress"] == 1 and done["steps_done"] == 3
    [image] = done["images"]
    assert image["seed"] == 11 and image["model_identity"].startswith("tiny-sd@")
    entry = GeneratedImage.objects.get(pk=image["id"])
    assert (entry.merchant, entry.prompt) == (merchant, TINY["prompt"])
    assert entry.negative_prompt == "blurry" and entry.seed == 11
    served = b"".join(api.get(image["url"]).streaming_content)
    assert not image["url"].startswith("/media/")
    # A standard C2PA reader finds the signed "created by a trained model" action...
    with c2pa.Reader("image/png", io.BytesIO(served)) as reader:
        store = json.loads(reader.json())
    actions = [
        action
        for manifest in store["manifests"].values()
        for assertion in manifest["assertions"]
        if assertion["label"].startswith("c2pa.actions")
        for action in assertion["data"]["actions"]
    ]
    assert {"c2pa.created"} <= {a["action"] for a in actions}
    assert any(a.get("digitalSourceType", "").endswith("/trainedAlgorithmicMedia") for a in actions)
    # ...and exiv2 reads the IPTC digital source type from the XMP.
    import pyexiv2

    with pyexiv2.ImageData(served) as metadata:
        xmp = metadata.read_xmp()
    assert xmp["Xmp.iptcExt.DigitalSourceType"].endswith("/trainedAlgorithmicMedia")


def test_same_seed_same_settings_same_image(api):
    first = finished(api, submit(api, **TINY).json()["id"])
    second = finished(api, submit(api, **TINY).json()["id"])
    other = finished(api, submit(api, **{**TINY, "seed": 12}).json()["id"])

    a, b = (pixels(api, job["images"][0]["url"]) for job in (first, second))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, pixels(api, other["images"][0]["url"]))


def test_image_to_image_maps_fidelity_to_strength_and_records_the_source(api, merchant):
    product = ProductFactory(merchant=merchant)
    source = product_image_create(product=product, data=dataset_photos(1)[0].read_bytes())

    job = submit(api, **{**TINY, "steps": 10}, source_image=source.pk, fidelity=0.7).json()

    assert job["kind"] == "image_to_image" and job["strength"] == pytest.approx(0.3)
    assert job["steps_total"] == 3  # image-to-image runs strength x steps
    done = finished(api, job["id"])
    entry = GeneratedImage.objects.get(pk=done["images"][0]["id"])
    assert entry.source_image == source and entry.fidelity == pytest.approx(0.7)


def test_fidelity_one_returns_the_real_product_unchanged_and_creates_nothing(api, merchant):
    source = product_image_create(
        product=ProductFactory(merchant=merchant), data=dataset_photos(1)[0].read_bytes()
    )

    response = submit(api, prompt="keep it", source_image=source.pk, fidelity=1)

    assert response.status_code == 200
    body = response.json()
    assert body["created"] is False and "unchanged" in body["message"]
    assert body["source_image"]["url"] == source.file.url
    assert not CreateJob.objects.exists() and not GeneratedImage.objects.exists()


def test_a_generated_image_uploaded_as_a_product_photo_is_refused_with_its_entry(api, merchant):
    done = finished(api, submit(api, **TINY).json()["id"])
    data = b"".join(api.get(done["images"][0]["url"]).streaming_content)
    product = ProductFactory(merchant=merchant)
    upload = reverse("api-product-image-upload", args=[product.pk])

    response = api.post(upload, {"image": io.BytesIO(data)}, format="multipart")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "generated_image" and "trainedAlgorithmicMedia" in error["message"]
    # Re-encoded (metadata gone), it is still recognised, by its hashes this time.
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, "JPEG", quality=70)
    buffer.seek(0)
    response = api.post(upload, {"image": buffer}, format="multipart")
    assert response.status_code == 422
    assert f"generated image #{done['images'][0]['id']}" in response.json()["error"]["message"]
    assert not ProductImage.objects.exists()


def test_a_real_photo_uploads_through_the_api(api, merchant):
    product = ProductFactory(merchant=merchant)
    photo = dataset_photos(1)[0]

    response = api.post(
        reverse("api-product-image-upload", args=[product.pk]),
        {"image": io.BytesIO(photo.read_bytes())},
    )

    assert response.status_code == 201
    assert product.images.get().guard_status == "passed"


def test_cancel_a_queued_job_and_a_running_one(api):
    queued = submit(api, **TINY).json()
    response = api.post(reverse("api-create-cancel", args=[queued["id"]]))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    running = submit(api, **TINY).json()
    CreateJob.objects.filter(pk=running["id"]).update(cancel_requested=True)  # arrives mid-run
    done = finished(api, running["id"])
    assert done["status"] == "cancelled" and done["images"] == [] and done["steps_done"] == 1
    assert api.post(reverse("api-create-cancel", args=[running["id"]])).status_code == 400


def test_a_failed_job_says_why(api, merchant):
    source = product_image_create(
        product=ProductFactory(merchant=merchant), data=dataset_photos(1)[0].read_bytes()
    )
    job = submit(api, **TINY, source_image=source.pk, fidelity=0.5).json()
    source.file.storage.delete(source.file.name)  # the source photo vanished before the run

    done = finished(api, job["id"])

    assert done["status"] == "failed" and "No such file" in done["error"]


def test_the_per_merchant_quota_answers_429(api, settings):
    settings.FIDELIS_CREATE_JOBS_PER_HOUR = 2
    assert submit(api, **TINY).status_code == 202
    assert submit(api, **TINY).status_code == 202

    response = submit(api, **TINY)

    assert response.status_code == 429 and "limit is 2" in response.json()["error"]["message"]
    assert CreateJob.objects.count() == 2


@pytest.mark.parametrize(
    "params",
    [
        {"steps": 0},
        {"steps": 500},
        {"width": 100},
        {"height": 4096},
        {"seed": "abc"},
        {"prompt": "x" * 20_000},
        {"prompt": ""},
        {"fidelity": 1.5, "source_image": 1},
        {"fidelity": 0.5},
        {"strength": 0.4},
    ],
)
def test_bad_parameters_get_a_400_and_no_job(api, params):
    response = submit(api, **{**TINY, **params})

    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert not CreateJob.objects.exists()


def test_another_merchants_source_product_is_refused(api):
    foreign = product_image_create(product=ProductFactory(), data=dataset_photos(1)[0].read_bytes())

    response = submit(api, **TINY, source_image=foreign.pk, fidelity=0.5)

    assert response.status_code == 400 and not CreateJob.objects.exists()


def test_shoppers_and_anonymous_users_get_403_everywhere_and_other_merchants_404(client, api):
    done = finished(api, submit(api, **TINY).json()["id"])
    job_urls = [
        reverse("api-create-job", args=[done["id"]]),
        reverse("creation:job", args=[done["id"]]),
        reverse("creation:image-file", args=[done["images"][0]["id"]]),
        done["images"][0]["url"],
    ]
    everywhere = [JOBS, reverse("creation:create"), *job_urls]
    client.logout()
    for user in (None, UserFactory()):
        if user:
            client.force_login(user)
        for url in everywhere:
            assert client.get(url).status_code == 403, url
        assert submit(client, **TINY).status_code == 403
    client.force_login(merchant_user(MerchantFactory()))
    for url in job_urls:
        assert client.get(url).status_code == 404, url


def test_an_api_client_with_a_token_follows_the_job_to_its_image_file(client, merchant):
    user = merchant_user(merchant, username="api-user")
    credentials = {"username": user.username, "password": "pw-for-tests"}
    token = client.post("/api/v1/merchant/token/", credentials).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    job = client.post(JOBS, TINY, content_type="application/json", **auth).json()
    create_job_run(job_id=job["id"])

    done = client.get(job["url"], **auth).json()
    response = client.get(done["images"][0]["url"], **auth)

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=3600"


def test_submitting_a_job_does_not_load_the_model_in_the_app_process(api):
    """Only workers load the generator (gigabytes for Stable Diffusion); an app process checks
    sizes from the generator's settings."""
    from creation import generators

    generators._load_generator.cache_clear()
    too_big = submit(api, prompt="a coat", width=generators.generator_sizes().max_size + 8)
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "bad_size"
    assert submit(api, prompt="a coat").status_code == 202

    assert generators._load_generator.cache_info().currsize == 0
