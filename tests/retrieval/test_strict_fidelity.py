"""The strict-fidelity rule holds on every path: text, photo, more like this, API and pages.

Hidden: an inactive product, a product whose only image failed the guard, and a product of a
merchant that is not published yet. Each hidden product is a perfect match for its query.
"""

import io

import pytest

from catalog.models import Merchant, ProductImage
from catalog.services import product_create_with_image
from tests.conftest import dataset_photos

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hidden_products(indexed_catalog, run_jobs):
    photos = dataset_photos(3, split="validation")
    shop = Merchant.objects.get(slug="demo")
    onboarding = Merchant.objects.create(name="Not yet live", slug="not-live", is_published=False)
    inactive = product_create_with_image(
        merchant=shop,
        data=photos[0].read_bytes(),
        title="Zanzibar retired",
        price="5",
        sku="HIDDEN-1",
        is_active=False,
    )
    quarantined = product_create_with_image(
        merchant=shop,
        data=photos[1].read_bytes(),
        title="Zanzibar quarantined",
        price="5",
        sku="HIDDEN-2",
    )
    unpublished = product_create_with_image(
        merchant=onboarding,
        data=photos[2].read_bytes(),
        title="Zanzibar unpublished",
        price="5",
        sku="HIDDEN-3",
    )
    ProductImage.objects.filter(product=quarantined).update(
        guard_status=ProductImage.GuardStatus.QUARANTINED, guard_reason="matches a generated image"
    )
    run_jobs()  # all three are indexed: only the rule keeps them out
    return [inactive, quarantined, unpublished]


def returned_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {hit["product"]["id"] for hit in response.json()["results"]}


def test_text_search_never_returns_hidden_products(client, hidden_products):
    hidden = {p.pk for p in hidden_products}
    for query in ["Zanzibar", "zanzibar retired", "HIDDEN-1", "HIDDEN-2", "HIDDEN-3"]:
        assert not returned_ids(client.get("/api/v1/search/", {"q": query})) & hidden


def test_photo_search_never_returns_hidden_products(client, hidden_products):
    for product in hidden_products:
        with product.images.get().file.open("rb") as fh:
            response = client.post("/api/v1/search/photo/", {"image": io.BytesIO(fh.read())})
        assert product.pk not in returned_ids(response)


def test_more_like_this_and_listing_never_return_hidden_products(client, hidden_products):
    hidden = {p.pk for p in hidden_products}
    visible = client.get("/api/v1/products/", {"page_size": 100}).json()

    assert not {p["id"] for p in visible["results"]} & hidden
    assert visible["total"] == 50
    for product_id in [p["id"] for p in visible["results"][:5]]:
        similar = client.get(f"/api/v1/products/{product_id}/similar/", {"page_size": 100})
        assert not returned_ids(similar) & hidden
    for product in hidden_products:
        assert client.get(f"/api/v1/products/{product.pk}/").status_code == 404
        assert client.get(f"/api/v1/products/{product.pk}/similar/").status_code == 404


def test_pages_never_show_hidden_products(client, hidden_products):
    pages = [
        client.get("/").content.decode(),
        client.get("/search/", {"q": "Zanzibar"}).content.decode(),
    ]
    for product in hidden_products:
        assert all(product.title not in page for page in pages)
        assert client.get(f"/products/{product.pk}/{product.slug}/").status_code == 404


def test_no_parameter_turns_the_rule_off(client, hidden_products):
    for extra in [{"fidelity": "0"}, {"include_inactive": "true"}, {"mode": "all"}]:
        response = client.get("/api/v1/search/", {"q": "Zanzibar", **extra})
        assert response.status_code == 400
