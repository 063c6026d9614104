"""Merchants' synonyms, through the API and the admin: applied to their own products only."""

import pytest
from django.test import Client

from catalog.models import Merchant, Product
from catalog.services import merchant_create, product_create_with_image
from retrieval.models import Synonym
from tests.conftest import dataset_photos
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


def search(client, q: str) -> list[str]:
    body = client.get("/api/v1/search/", {"q": q, "page_size": 100}).json()
    return [hit["product"]["title"] for hit in body["results"]]


@pytest.fixture
def demo_owner(indexed_catalog):
    client = Client()
    client.force_login(merchant_user(Merchant.objects.get(slug="demo")))
    return client


def add(client, **data):
    return client.post("/api/v1/merchant/synonyms/", data, content_type="application/json")


def test_a_one_way_synonym_finds_the_catalogs_word(client, demo_owner):
    trousers = Product.objects.filter(title__contains="Trousers").first()
    colour = trousers.title.split()[1]
    assert search(client, "jeans") == []

    response = add(demo_owner, kind="one_way", terms=["Jeans"], synonyms=["trousers"])

    assert response.status_code == 201
    assert response.json()["terms"] == ["jeans"]
    found = search(client, f"{colour} jeans")
    assert trousers.title in found
    assert all("Trousers" in title and colour in title for title in found)
    # One-way: the catalog's word does not find the shopper's.
    assert all("Trousers" in title for title in search(client, "trousers"))
    page = client.get("/search/", {"q": f"{colour} jeans"}).content.decode()
    assert "<mark>Trousers</mark>" in page


def test_a_multi_way_set_finds_each_of_its_terms(client, demo_owner):
    assert search(client, "trainers") == []

    add(demo_owner, kind="equivalent", terms=["sneakers", "trainers", "running shoes"])

    sneakers = search(client, "sneakers")
    assert len(sneakers) == 5 and search(client, "trainers") == sneakers
    assert search(client, "running shoes") == sneakers


def test_another_shops_synonym_leaves_these_products_alone(client, indexed_catalog):
    other = merchant_create(name="Other", slug="other")
    photo = dataset_photos(51)[-1]
    theirs = product_create_with_image(
        merchant=other, data=photo.read_bytes(), title="Blue Trousers", price=10
    )
    owner = Client()
    owner.force_login(merchant_user(other))
    add(owner, kind="one_way", terms=["jeans"], synonyms=["trousers"])

    # The demo shop's trousers are not found by the other shop's word for them.
    assert search(client, "jeans") == [theirs.title]
    assert len(search(client, "trousers")) == 6


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (
            {"kind": "one_way", "terms": [f"w{i}" for i in range(10_000)], "synonyms": ["x"]},
            "synonym_set_too_large",
        ),
        ({"kind": "equivalent", "terms": ["sneakers"]}, "synonym_set_incomplete"),
        ({"kind": "one_way", "terms": ["jeans"]}, "synonym_set_incomplete"),
        ({"kind": "one_way", "terms": ["a b c d"], "synonyms": ["x"]}, "synonym_term_too_long"),
        ({"kind": "sideways", "terms": ["a"], "synonyms": ["b"]}, "invalid_choice"),
    ],
)
def test_bad_synonym_sets_are_refused_and_nothing_is_written(demo_owner, data, code):
    response = add(demo_owner, **data)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Synonym.objects.exists()


def test_a_merchant_edits_only_its_own_sets(demo_owner):
    other = merchant_create(name="Other", slug="other")
    theirs = Synonym.objects.create(
        merchant=other, kind="one_way", terms=["jeans"], synonyms=["denim"]
    )
    mine = add(demo_owner, kind="one_way", terms=["jeans"], synonyms=["trousers"]).json()

    assert demo_owner.get(f"/api/v1/merchant/synonyms/{theirs.pk}/").status_code == 404
    patch = demo_owner.patch(
        f"/api/v1/merchant/synonyms/{theirs.pk}/", {"synonyms": ["x"]}, "application/json"
    )
    assert patch.status_code == 404
    assert [s["id"] for s in demo_owner.get("/api/v1/merchant/synonyms/").json()] == [mine["id"]]
    changed = demo_owner.patch(
        f"/api/v1/merchant/synonyms/{mine['id']}/", {"synonyms": ["pants"]}, "application/json"
    )
    assert changed.json()["synonyms"] == ["pants"]
    assert demo_owner.delete(f"/api/v1/merchant/synonyms/{mine['id']}/").status_code == 204
    assert list(Synonym.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_a_merchant_adds_a_set_in_the_admin(client, demo_owner):
    response = demo_owner.post(
        "/admin/retrieval/synonym/add/",
        {"kind": "equivalent", "terms": "Sneakers, trainers", "synonyms": ""},
    )

    assert response.status_code == 302
    synonym = Synonym.objects.get()
    assert synonym.merchant.slug == "demo" and synonym.terms == ["sneakers", "trainers"]
    too_many = demo_owner.post(
        "/admin/retrieval/synonym/add/",
        {"kind": "equivalent", "terms": ", ".join(f"w{i}" for i in range(10_000))},
    )
    assert too_many.status_code == 200 and "at most 50 terms" in too_many.content.decode()
    assert Synonym.objects.count() == 1
