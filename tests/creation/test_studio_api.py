"""The studio API, /api/v1/studio/: one slider from the real catalog (1.0) to concepts (0.0)."""

import io
import json
import zipfile

import c2pa
import pytest
from django.urls import reverse

from catalog.models import GeneratedImage, Product
from catalog.selectors import products_searchable
from creation.models import Board, CreateJob
from creation.services import create_job_run
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, UserFactory, merchant_user

pytestmark = pytest.mark.django_db
SEARCH = reverse("api-studio-search")
FAST = {"steps": 2, "seed": 5}


def studio(client, **params):
    return client.post(SEARCH, params, content_type="application/json")


def shopper_ids(client, **params) -> list[int]:
    body = client.get("/api/v1/search/", {**params, "page_size": 12}).json()
    return [hit["product"]["id"] for hit in body["results"]]


def real_ids(body) -> list[int]:
    return [tile["product"]["id"] for tile in body["real"]]


def finished_job(client, job: dict) -> dict:
    create_job_run(job_id=job["id"])  # what the worker does with the queued job
    return client.get(job["url"]).json()


def served(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_fidelity_one_returns_what_shopper_search_returns_and_generates_nothing(studio_client):
    response = studio(studio_client, q="shirt", fidelity=1)

    body = response.json()
    assert response.status_code == 200
    assert real_ids(body) == shopper_ids(studio_client, q="shirt") != []
    assert {(t["kind"], t["label"]) for t in body["real"]} == {("real_product", "Real product")}
    assert all(t["product"]["url"].startswith("/products/") for t in body["real"])
    assert body["job"] is None and body["stop"] == "in catalog"
    assert not CreateJob.objects.exists() and not GeneratedImage.objects.exists()


def test_half_fidelity_shows_real_products_then_variations_of_the_best_own_match(
    studio_client, demo_merchant
):
    response = studio(studio_client, q="shirt", fidelity=0.5, num_images=2, **FAST)

    assert response.status_code == 202
    body = response.json()
    assert real_ids(body) == shopper_ids(studio_client, q="shirt")
    best_own = next(t for t in body["real"] if t["product"]["id"] in own_ids(demo_merchant))
    assert body["source_product"]["id"] == best_own["product"]["id"]
    assert body["job"]["status"] == "queued" and body["job"]["kind"] == "image_to_image"
    assert body["job"]["concepts"] == [] and body["job"]["stop"] in (
        "loose concept",
        "close variation",
    )

    job = finished_job(studio_client, body["job"])

    assert job["status"] == "succeeded" and job["progress"] == 1
    assert [c["provenance"]["seed"] for c in job["concepts"]] == [5, 6]
    for tile in job["concepts"]:
        assert (tile["kind"], tile["label"]) == (
            "generated_concept",
            "Generated concept, not a product",
        )
        assert "product" not in tile and "url" not in tile  # never a product link
        provenance = tile["provenance"]
        assert provenance["fidelity"] == 0.5 and provenance["model"].startswith("tiny-sd@")
        assert provenance["source_product"]["id"] == best_own["product"]["id"]
        assert provenance["digital_source_type"].endswith("/trainedAlgorithmicMedia")
        assert served(studio_client, tile["image_url"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert CreateJob.objects.get().strength == 0.5


def own_ids(merchant) -> set[int]:
    return set(Product.objects.filter(merchant=merchant).values_list("pk", flat=True))


def test_fidelity_zero_creates_from_the_words_alone(studio_client):
    body = studio(studio_client, q="striped linen shirt", fidelity=0, num_images=1, **FAST).json()

    assert real_ids(body) == shopper_ids(studio_client, q="striped linen shirt")
    assert body["source_product"] is None and body["stop"] == "from scratch"
    job = finished_job(studio_client, body["job"])
    [concept] = job["concepts"]
    assert job["kind"] == "text_to_image"
    assert concept["provenance"]["source_product"] is None
    assert concept["provenance"]["prompt"] == "striped linen shirt"
    assert concept["provenance"]["fidelity"] == 0


def test_a_photo_query_finds_what_photo_search_finds_and_varies_the_best_own_match(
    studio_client, demo_merchant
):
    photo = dataset_photos(1, split="validation")[0].read_bytes()
    shopper = studio_client.post(
        "/api/v1/search/photo/?page_size=12", {"image": io.BytesIO(photo)}
    ).json()

    response = studio_client.post(
        SEARCH, {"image": io.BytesIO(photo), "fidelity": "0.7", "steps": "2", "num_images": "1"}
    )

    body = response.json()
    assert response.status_code == 202
    assert real_ids(body) == [hit["product"]["id"] for hit in shopper["results"]]
    assert body["query"]["kind"] == "photo" and body["stop"] == "close variation"
    assert body["source_product"]["id"] in own_ids(demo_merchant)
    assert CreateJob.objects.get().prompt == body["source_product"]["title"]


def test_a_product_query_varies_that_product(studio_client, demo_merchant):
    product = Product.objects.filter(merchant=demo_merchant).order_by("pk")[3]

    body = studio(studio_client, product=product.pk, fidelity=0.3, num_images=1, **FAST).json()

    assert body["query_product"]["id"] == product.pk
    assert product.pk not in real_ids(body)  # more like this, never itself
    assert real_ids(body) == [
        h["product"]["id"]
        for h in studio_client.get(f"/api/v1/products/{product.pk}/similar/?page_size=12").json()[
            "results"
        ]
    ]
    assert body["source_product"]["id"] == product.pk


def test_another_shops_product_can_be_searched_but_never_varied(studio_client, rival):
    theirs = Product.objects.filter(merchant=rival).first()

    assert studio(studio_client, product=theirs.pk, fidelity=1).status_code == 200
    response = studio(studio_client, product=theirs.pk, fidelity=0.5, **FAST)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_your_product"
    assert "your own products" in response.json()["error"]["message"]
    assert not CreateJob.objects.exists()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": "shirt", "fidelity": 1.5}, "max_value"),
        ({"q": "shirt", "fidelity": -0.1}, "min_value"),
        ({"q": "shirt", "fidelity": "abc"}, "invalid"),
        ({"q": "shirt", "fidelity": "nan"}, "invalid"),
        ({"fidelity": 0.5}, "empty_query"),
        ({"q": "   ", "fidelity": 0.5}, "empty_query"),
        ({"q": "shirt", "product": 1, "fidelity": 0.5}, "several_queries"),
        ({"q": "shirt", "fidelity": 0.5, "strength": 0.9}, "unknown_parameter"),
        ({"q": "x" * 10_000, "fidelity": 0.5}, "max_length"),
        ({"product": 999_999, "fidelity": 0.5}, "not_found"),
    ],
)
def test_bad_studio_queries_get_a_clear_4xx_and_write_nothing(studio_client, params, code):
    response = studio(studio_client, **params)

    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert not CreateJob.objects.exists() and not GeneratedImage.objects.exists()


def test_a_corrupt_photo_is_refused(studio_client):
    response = studio_client.post(
        SEARCH, {"image": io.BytesIO(b"\xff\xd8\xff\xe0 not really a jpeg"), "fidelity": "0.5"}
    )

    assert response.status_code in (400, 415)
    assert not CreateJob.objects.exists()


def test_the_quota_applies_to_the_studio(studio_client, settings):
    settings.FIDELIS_CREATE_JOBS_PER_HOUR = 1
    assert studio(studio_client, q="shirt", fidelity=0.5, **FAST).status_code == 202

    response = studio(studio_client, q="shirt", fidelity=0.5, **FAST)

    assert response.status_code == 429 and "limit is 1" in response.json()["error"]["message"]
    assert CreateJob.objects.count() == 1


def make_concept(client) -> dict:
    body = studio(client, q="shirt", fidelity=0.5, num_images=1, **FAST).json()
    return finished_job(client, body["job"])["concepts"][0]


def test_find_real_products_like_a_concept_runs_photo_search_over_the_real_catalog(
    studio_client,
):
    concept = make_concept(studio_client)
    image = served(studio_client, concept["image_url"])
    shopper = studio_client.post(
        "/api/v1/search/photo/?page_size=10", {"image": io.BytesIO(image)}
    ).json()

    body = studio_client.get(concept["find_real_url"], {"page_size": 10}).json()

    assert body["concept"]["id"] == concept["id"]
    assert [t["product"]["id"] for t in body["real"]] == [
        hit["product"]["id"] for hit in shopper["results"]
    ]
    assert body["real"] and all(t["kind"] == "real_product" for t in body["real"])
    searchable = set(products_searchable().values_list("pk", flat=True))
    assert {t["product"]["id"] for t in body["real"]} <= searchable


def test_boards_keep_concepts_and_export_them_with_their_manifests_and_provenance(
    studio_client,
):
    concept = make_concept(studio_client)
    boards_url = reverse("api-studio-boards")

    created = studio_client.post(boards_url, {"name": "  Summer   brief "}, "application/json")
    board = created.json()
    assert created.status_code == 201 and board["name"] == "Summer brief"
    add = reverse("api-studio-board-concepts", args=[board["id"]])
    first = studio_client.post(add, {"concept": concept["id"]}, "application/json")
    again = studio_client.post(add, {"concept": concept["id"]}, "application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert [c["id"] for c in again.json()["concepts"]] == [concept["id"]]
    assert studio_client.get(boards_url).json()[0]["concept_count"] == 1

    export = studio_client.get(board["export_url"])

    assert export.status_code == 200 and export["Content-Type"] == "application/zip"
    assert "summer-brief" in export["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content)))
    name = f"concept-{concept['id']}.png"
    assert sorted(archive.namelist()) == sorted([name, "provenance.json"])
    image = archive.read(name)
    assert image == served(studio_client, concept["image_url"])  # bytes unchanged
    with c2pa.Reader("image/png", io.BytesIO(image)) as reader:
        store = json.loads(reader.json())
    assert "trainedAlgorithmicMedia" in json.dumps(store)
    provenance = json.loads(archive.read("provenance.json"))
    assert provenance["board"] == "Summer brief"
    [entry] = provenance["concepts"]
    assert entry["file"] == name and entry["seed"] == concept["provenance"]["seed"]
    assert entry["source_product"] == concept["provenance"]["source_product"]


def test_boards_can_be_renamed_emptied_and_deleted(studio_client):
    concept = make_concept(studio_client)
    board = studio_client.post(
        reverse("api-studio-boards"), {"name": "Brief"}, "application/json"
    ).json()
    studio_client.post(
        reverse("api-studio-board-concepts", args=[board["id"]]),
        {"concept": concept["id"]},
        "application/json",
    )

    renamed = studio_client.patch(board["url"], {"name": "Autumn brief"}, "application/json")
    removed = studio_client.delete(
        reverse("api-studio-board-concept", args=[board["id"], concept["id"]])
    )

    assert renamed.json()["name"] == "Autumn brief" and removed.status_code == 204
    assert studio_client.get(board["url"]).json()["concepts"] == []
    assert studio_client.delete(board["url"]).status_code == 204
    assert not Board.objects.exists() and GeneratedImage.objects.filter(pk=concept["id"]).exists()


@pytest.mark.parametrize(
    ("name", "code"),
    [("x" * 2048, "max_length"), ("   ", "blank"), ("", "blank"), ("y" * 121, "name_too_long")],
)
def test_bad_board_names_are_refused(studio_client, name, code):
    response = studio_client.post(reverse("api-studio-boards"), {"name": name}, "application/json")

    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert not Board.objects.exists()


def test_a_duplicate_board_name_and_an_empty_export_are_refused(studio_client):
    boards_url = reverse("api-studio-boards")
    board = studio_client.post(boards_url, {"name": "Brief"}, "application/json").json()

    duplicate = studio_client.post(boards_url, {"name": "Brief"}, "application/json")
    export = studio_client.get(board["export_url"])

    assert duplicate.status_code == 400 and duplicate.json()["error"]["code"] == "duplicate_name"
    assert export.status_code == 400 and export.json()["error"]["code"] == "empty_board"
    assert "empty" in export.json()["error"]["message"]
    assert Board.objects.count() == 1


def studio_endpoints(job_id: int, concept_id: int, board_id: int) -> list[tuple[str, str]]:
    return [
        ("post", SEARCH),
        ("get", reverse("api-studio-job", args=[job_id])),
        ("get", reverse("api-studio-concepts")),
        ("get", reverse("api-studio-concept", args=[concept_id])),
        ("get", reverse("api-studio-concept-similar", args=[concept_id])),
        ("get", reverse("api-studio-boards")),
        ("post", reverse("api-studio-boards")),
        ("get", reverse("api-studio-board", args=[board_id])),
        ("patch", reverse("api-studio-board", args=[board_id])),
        ("delete", reverse("api-studio-board", args=[board_id])),
        ("post", reverse("api-studio-board-concepts", args=[board_id])),
        ("delete", reverse("api-studio-board-concept", args=[board_id, concept_id])),
        ("get", reverse("api-studio-board-export", args=[board_id])),
    ]


@pytest.fixture
def someone_elses_work(studio_client):
    """A finished concept and a board holding it, both of the demo shop."""
    concept = make_concept(studio_client)
    board = studio_client.post(
        reverse("api-studio-boards"), {"name": "Private brief"}, "application/json"
    ).json()
    studio_client.post(
        reverse("api-studio-board-concepts", args=[board["id"]]),
        {"concept": concept["id"]},
        "application/json",
    )
    studio_client.logout()
    return CreateJob.objects.get().pk, concept["id"], board["id"]


@pytest.mark.parametrize("who", ["anonymous", "shopper"])
def test_shoppers_and_anonymous_users_get_403_on_every_studio_endpoint(
    client, someone_elses_work, who
):
    if who == "shopper":
        client.force_login(UserFactory())
    for method, url in studio_endpoints(*someone_elses_work):
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code == 403, (method, url)
        assert "merchant-only" in response.json()["error"]["message"]
    assert Board.objects.count() == 1 and CreateJob.objects.count() == 1


def test_another_merchant_never_sees_the_concepts_or_boards_404(client, someone_elses_work):
    job_id, concept_id, board_id = someone_elses_work
    client.force_login(merchant_user(MerchantFactory()))

    for method, url in studio_endpoints(job_id, concept_id, board_id)[1:]:
        if url in (reverse("api-studio-concepts"), reverse("api-studio-boards")):
            continue  # their own (empty) lists
        response = getattr(client, method)(url, {"name": "x", "concept": 1}, "application/json")
        assert response.status_code == 404, (method, url)
    assert client.get(reverse("api-studio-concepts")).json() == []
    assert client.get(reverse("api-studio-boards")).json() == []
    # Their own board cannot take the other shop's concept either.
    mine = client.post(reverse("api-studio-boards"), {"name": "Mine"}, "application/json").json()
    response = client.post(
        reverse("api-studio-board-concepts", args=[mine["id"]]),
        {"concept": concept_id},
        "application/json",
    )
    assert response.status_code == 404
    assert Board.objects.get(pk=board_id).entries.count() == 1


def test_the_studio_is_in_the_openapi_schema_with_examples(client):
    schema = client.get("/api/schema/?format=json").json()

    search = schema["paths"]["/api/v1/studio/search/"]["post"]
    examples = search["requestBody"]["content"]["application/json"]["examples"]
    assert {"InCatalog", "CloseVariation", "FromScratch"} <= set(examples)
    assert {"200", "202"} <= set(search["responses"])
    assert "/api/v1/studio/boards/{id}/export/" in schema["paths"]


def test_a_merchant_token_opens_the_studio_api_and_a_shopper_gets_none(client, demo_merchant):
    token_url = reverse("api-merchant-token")
    user = merchant_user(demo_merchant)
    UserFactory(username="shopper")

    token = client.post(token_url, {"username": user.username, "password": "pw-for-tests"}).json()
    shopper = client.post(token_url, {"username": "shopper", "password": "pw-for-tests"})
    wrong = client.post(token_url, {"username": user.username, "password": "nope"})

    assert token["merchant"] == "demo" and len(token["token"]) == 64 and token["expiry"]
    assert shopper.status_code == 403 and wrong.status_code == 400
    response = client.post(
        SEARCH,
        {"q": "shirt", "fidelity": 1},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token['token']}",
    )
    assert response.status_code == 200 and response.json()["real"]
    refused = client.post(
        SEARCH, {"q": "shirt"}, content_type="application/json", HTTP_AUTHORIZATION="Token bad"
    )
    assert refused.status_code == 403


def test_a_studio_concept_can_never_be_uploaded_back_as_a_product_image(
    studio_client, demo_merchant
):
    concept = make_concept(studio_client)
    image = served(studio_client, concept["image_url"])
    product = Product.objects.filter(merchant=demo_merchant).first()
    images_before = product.images.count()

    response = studio_client.post(
        reverse("api-product-image-upload", args=[product.pk]), {"image": io.BytesIO(image)}
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "generated_image"
    assert product.images.count() == images_before


def test_a_registered_concept_whose_bytes_were_never_stored_is_not_served(studio_client):
    concept = make_concept(studio_client)
    # What a crash between "register" and "store" leaves behind: the row, no file.
    GeneratedImage.objects.filter(pk=concept["id"]).update(file="")

    assert studio_client.get(concept["image_url"]).status_code == 404
    assert studio_client.get(concept["find_real_url"]).status_code == 404
    assert studio_client.get(reverse("api-studio-concepts")).json() == []


def test_the_studio_follows_a_job_started_from_the_create_form_too(studio_client):
    job = studio_client.post(
        reverse("api-create-jobs"), {"prompt": "a hat", "steps": 1}, "application/json"
    ).json()

    body = studio_client.get(reverse("api-studio-job", args=[job["id"]])).json()

    assert body["fidelity"] is None and body["stop"] is None and body["kind"] == "text_to_image"
