"""The studio pages: the slider, tiles labelled apart, concepts back to products, boards."""

import io
import re
import zipfile

import pytest
from django.urls import reverse

from creation.models import Board, CreateJob
from creation.services import create_job_run
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, UserFactory, merchant_user

pytestmark = pytest.mark.django_db
STUDIO = reverse("studio:studio")


def tiles(html: str, kind: str) -> list[str]:
    return re.findall(rf'<li class="card {kind}".*?</li>', html, flags=re.S)


def shopper_titles(client, q: str) -> list[str]:
    body = client.get("/api/v1/search/", {"q": q, "page_size": 12}).json()
    return [hit["product"]["title"] for hit in body["results"]]


def test_the_studio_page_has_one_query_box_and_a_labelled_fidelity_slider(studio_client):
    html = studio_client.get(STUDIO).content.decode()

    assert '<input type="range" name="fidelity" id="id_fidelity" min="0" max="1"' in html
    for stop in ("in catalog", "close variation", "loose concept", "from scratch"):
        assert stop in html
    for field in ("id_q", "id_image", "id_product", "id_fidelity"):
        assert f'for="{field}"' in html  # every input has a label


def test_fidelity_one_shows_the_shoppers_real_products_and_nothing_generated(studio_client):
    response = studio_client.post(
        STUDIO, {"q": "shirt", "fidelity": "1", "num_images": "1"}, follow=True
    )

    html = response.content.decode()
    real = tiles(html, "real-tile")
    assert response.status_code == 200 and len(real) == len(shopper_titles(studio_client, "shirt"))
    assert all("Real product" in tile and "EUR" in tile for tile in real)
    assert not tiles(html, "concept") and "nothing generated" in html
    assert not CreateJob.objects.exists()


def test_half_fidelity_shows_real_products_and_a_job_whose_concepts_are_labelled_apart(
    studio_client, demo_merchant
):
    response = studio_client.post(
        STUDIO, {"q": "shirt", "fidelity": "0.5", "num_images": "1", "seed": "9"}
    )

    job = CreateJob.objects.get()
    assert response.status_code == 302 and f"job={job.pk}" in response.url
    html = studio_client.get(response.url).content.decode()
    assert tiles(html, "real-tile") and "Generated concepts" in html
    assert '<progress id="job-progress"' in html
    assert studio_client.get(response.url).status_code == 200  # a reload...
    assert CreateJob.objects.count() == 1  # ...starts no other job
    assert job.fidelity == 0.5 and job.source_image.product.merchant == demo_merchant
    create_job_run(job_id=job.pk)

    fragment = studio_client.get(reverse("studio:job-concepts", args=[job.pk])).content.decode()

    [concept] = tiles(fragment, "concept")
    assert "Generated concept, not a product" in concept
    assert job.source_image.product.title in concept and "0.50" in concept and ">9<" in concept
    assert "/products/" not in concept and "cart" not in concept.lower()
    assert reverse("studio:concept-similar", args=[job.images.get().pk]) in concept


def test_find_real_products_like_a_concept_shows_real_products(studio_client):
    studio_client.post(STUDIO, {"q": "dress", "fidelity": "0", "num_images": "1"})
    job = CreateJob.objects.get()
    create_job_run(job_id=job.pk)

    page = studio_client.get(reverse("studio:concept-similar", args=[job.images.get().pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert len(tiles(html, "concept")) == 1 and len(tiles(html, "real-tile")) >= 10
    assert "Find real products like this" not in html  # we are there already


def test_a_concept_goes_on_a_board_which_exports_as_a_zip(studio_client):
    studio_client.post(STUDIO, {"q": "hat", "fidelity": "0", "num_images": "1"})
    job = CreateJob.objects.get()
    create_job_run(job_id=job.pk)
    concept = job.images.get()

    saved = studio_client.post(
        reverse("studio:concept-save", args=[concept.pk]), {"new_board": "Hat brief"}
    )

    board = Board.objects.get()
    assert saved.status_code == 302 and saved.url == reverse("studio:board", args=[board.pk])
    html = studio_client.get(saved.url).content.decode()
    assert "Hat brief" in html and len(tiles(html, "concept")) == 1 and "Export ZIP" in html
    export = studio_client.get(reverse("studio:board-export", args=[board.pk]))
    names = zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))).namelist()
    assert sorted(names) == [f"concept-{concept.pk}.png", "provenance.json"]

    studio_client.post(reverse("studio:board-concept-remove", args=[board.pk, concept.pk]))
    empty = studio_client.get(reverse("studio:board-export", args=[board.pk]))
    assert empty.status_code == 400 and "This board is empty" in empty.content.decode()
    studio_client.post(reverse("studio:board-delete", args=[board.pk]))
    assert not Board.objects.exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"q": "shirt", "fidelity": "abc"}, "Enter a number"),
        ({"q": "shirt", "fidelity": "1.5"}, "less than or equal to 1"),
        ({"q": "", "fidelity": "0.5"}, "Type a few words, upload a photo or pick a product"),
    ],
)
def test_bad_studio_input_is_a_400_with_a_message(studio_client, form, message):
    response = studio_client.post(STUDIO, {"num_images": "1", **form})

    assert response.status_code == 400 and message in response.content.decode()
    assert not CreateJob.objects.exists()


def test_a_board_name_of_2_kb_is_refused(studio_client):
    response = studio_client.post(reverse("studio:boards"), {"name": "b" * 2048})

    assert response.status_code == 400 and "at most 120 characters" in response.content.decode()
    assert not Board.objects.exists()


def page_urls(concept_id: int, board_id: int, job_id: int) -> list[tuple[str, str]]:
    return [
        ("get", STUDIO),
        ("post", STUDIO),
        ("get", reverse("studio:job-concepts", args=[job_id])),
        ("get", reverse("studio:concept-similar", args=[concept_id])),
        ("post", reverse("studio:concept-save", args=[concept_id])),
        ("get", reverse("studio:boards")),
        ("get", reverse("studio:board", args=[board_id])),
        ("get", reverse("studio:board-export", args=[board_id])),
        ("post", reverse("studio:board-delete", args=[board_id])),
        ("post", reverse("studio:board-concept-remove", args=[board_id, concept_id])),
        ("get", reverse("creation:image-file", args=[concept_id])),
    ]


@pytest.fixture
def demo_work(studio_client):
    studio_client.post(STUDIO, {"q": "shirt", "fidelity": "0", "num_images": "1"})
    job = CreateJob.objects.get()
    create_job_run(job_id=job.pk)
    concept = job.images.get()
    studio_client.post(reverse("studio:concept-save", args=[concept.pk]), {"new_board": "Ours"})
    studio_client.logout()
    return concept.pk, Board.objects.get().pk, job.pk


@pytest.mark.parametrize("who", ["anonymous", "shopper"])
def test_shoppers_and_anonymous_users_get_403_on_every_studio_page(client, demo_work, who):
    if who == "shopper":
        client.force_login(UserFactory())

    for method, url in page_urls(*demo_work):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url)
    assert Board.objects.get().entries.count() == 1


def test_another_merchant_gets_404_on_the_demo_shops_concepts_and_boards(client, demo_work):
    client.force_login(merchant_user(MerchantFactory()))

    for method, url in page_urls(*demo_work):
        if url in (STUDIO, reverse("studio:boards")):
            continue
        assert getattr(client, method)(url).status_code == 404, (method, url)
    assert "Ours" not in client.get(reverse("studio:boards")).content.decode()
    assert Board.objects.get().entries.count() == 1


def test_a_merchant_opens_its_own_product_in_the_studio(studio_client, demo_merchant, rival):
    own = demo_merchant.products.first()
    theirs = rival.products.first()

    own_page = studio_client.get(f"/products/{own.pk}/{own.slug}/").content.decode()
    their_page = studio_client.get(f"/products/{theirs.pk}/{theirs.slug}/").content.decode()

    link = f"{STUDIO}?product={own.pk}&amp;fidelity=0.7"
    assert link in own_page and "Vary this product in the studio" not in their_page
    prefilled = studio_client.get(f"{STUDIO}?product={own.pk}&fidelity=0.7").content.decode()
    assert f'value="{own.pk}"' in prefilled and 'value="0.7"' in prefilled


def test_a_photo_query_is_answered_at_once_and_another_shops_job_is_never_shown(
    studio_client, client, demo_merchant
):
    photo = dataset_photos(1, split="validation")[0]
    with photo.open("rb") as upload:
        response = studio_client.post(
            STUDIO, {"image": upload, "fidelity": "0.7", "num_images": "1"}
        )
    assert response.status_code == 200 and tiles(response.content.decode(), "real-tile")
    job = CreateJob.objects.get()

    client.force_login(merchant_user(MerchantFactory()))
    shown = {"q": "shirt", "fidelity": "0.7", "num_images": "1", "shown": "1", "job": job.pk}
    theirs = client.get(STUDIO, shown)

    assert theirs.status_code == 404
