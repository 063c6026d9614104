"""The merchant product API: CRUD and bulk upsert by SKU, scoped to the caller's shop."""

from decimal import Decimal
from urllib.parse import quote

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from catalog.models import Merchant, Product, ProductImage
from catalog.product_apis import BULK_MAX_ITEMS
from catalog.services import generated_image_register, merchant_create
from retrieval.models import ImageEmbedding
from tests.conftest import dataset_photos
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/merchant/products/"


def api_for(merchant: Merchant) -> APIClient:
    client = APIClient()
    token = AuthToken.objects.create(user=merchant_user(merchant))[1]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def shops(settings):
    settings.FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES = True  # the images come from loopback
    a, b = (
        merchant_create(name="Shop A", slug="shop-a"),
        merchant_create(name="Shop B", slug="shop-b"),
    )
    return (a, api_for(a)), (b, api_for(b))


def tee(image_server: str, sku: str = "TEE-NAVY-M", **changes) -> dict:
    item = {
        "id": sku,
        "title": "Organic Cotton T-Shirt, Navy",
        "description": "Heavy jersey, relaxed fit.",
        "price": "24.90 EUR",
        "quantity": 12,
        "brand": "Northwind",
        "color": "Navy",
        "size": "M",
        "gtin": "4006381333931",
        "item_group_id": "TEE-ORGANIC",
        "product_type": "Apparel > T-Shirts",
        "image_link": f"{image_server}/photo.jpg",
        "additional_image_link": [f"{image_server}/moved.jpg"],
    }
    return item | changes


def test_create_read_update_delete_by_sku(shops, image_server):
    (shop, api), _ = shops

    created = api.post(PRODUCTS, tee(image_server), format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"] == "TEE-NAVY-M" and body["price"] == "24.90 EUR"
    assert body["availability"] == "in_stock" and body["quantity"] == 12 and body["shown"]
    assert [i["source"] for i in body["images"]] == [
        f"{image_server}/photo.jpg",
        f"{image_server}/moved.jpg",
    ]
    assert api.get(f"{PRODUCTS}TEE-NAVY-M/").json()["brand"] == "Northwind"

    again = api.post(PRODUCTS, tee(image_server), format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "exists"

    patched = api.patch(
        f"{PRODUCTS}TEE-NAVY-M/", {"price": "19.90 EUR", "quantity": 0}, format="json"
    )
    assert patched.status_code == 200
    assert (
        patched.json()["price"] == "19.90 EUR" and patched.json()["availability"] == "out_of_stock"
    )
    assert patched.json()["brand"] == "Northwind"  # what a PATCH leaves out stays

    replaced = api.put(
        f"{PRODUCTS}TEE-NAVY-M/", {"title": "Plain tee", "price": "9.00 EUR"}, format="json"
    )
    assert replaced.status_code == 200
    assert replaced.json()["brand"] == "" and replaced.json()["title"] == "Plain tee"
    assert len(replaced.json()["images"]) == 2  # images change only with image_link

    assert api.delete(f"{PRODUCTS}TEE-NAVY-M/").status_code == 204
    assert api.get(f"{PRODUCTS}TEE-NAVY-M/").status_code == 404
    assert not Product.objects.filter(merchant=shop).exists()


def test_bad_items_get_a_clear_4xx_and_write_nothing(shops, image_server):
    _, api = shops[0]

    cases = {
        "price": ({"price": "abc"}, "is not a price"),
        "quantity": ({"quantity": -1}, "the stock cannot be negative"),
        "availability": ({"availability": "soon", "quantity": ""}, "is not one of in_stock"),
        "gtin": ({"gtin": "123"}, "is not a GTIN"),
        "image_link": ({"image_link": f"{image_server}/missing.jpg"}, "answered HTTP 404"),
    }
    for field, (changes, message) in cases.items():
        answer = api.post(PRODUCTS, tee(image_server) | changes, format="json")
        assert answer.status_code == 400, (field, answer.json())
        assert message in answer.json()["error"]["fields"][field][0], field

    unknown = api.post(PRODUCTS, tee(image_server) | {"colour": "Navy"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_attribute"
    missing = api.post(PRODUCTS, {"id": "X-1", "price": "1.00 EUR"}, format="json")
    assert missing.json()["error"]["fields"]["title"] == ["title is required."]
    assert not Product.objects.exists() and not ProductImage.objects.exists()


def test_a_generated_image_is_refused_with_422(shops, image_server):
    (shop, api), _ = shops

    generated_image_register(
        merchant=shop,
        data=dataset_photos(1)[0].read_bytes(),
        prompt="a tee",
        seed=1,
        model_identity="test",
    )

    answer = api.post(PRODUCTS, tee(image_server), format="json")

    assert answer.status_code == 422 and answer.json()["error"]["code"] == "generated_image"
    assert not Product.objects.exists()


def test_another_shop_gets_404_on_your_skus(shops, image_server):
    (shop_a, api_a), (shop_b, api_b) = shops
    api_a.post(PRODUCTS, tee(image_server), format="json")

    assert api_b.get(f"{PRODUCTS}TEE-NAVY-M/").status_code == 404
    assert (
        api_b.patch(f"{PRODUCTS}TEE-NAVY-M/", {"price": "1.00 EUR"}, format="json").status_code
        == 404
    )
    assert api_b.put(f"{PRODUCTS}TEE-NAVY-M/", tee(image_server), format="json").status_code == 404
    assert api_b.delete(f"{PRODUCTS}TEE-NAVY-M/").status_code == 404
    assert api_b.get(PRODUCTS).json()["results"] == []
    # Shop B's bulk upsert of the same SKU makes B's own product.
    bulk = api_b.post(
        f"{PRODUCTS}bulk/", {"items": [tee(image_server, price="1.00 EUR")]}, format="json"
    )
    assert bulk.json()["created"] == 1
    assert Product.objects.get(merchant=shop_a).price == Decimal("24.90")
    assert Product.objects.get(merchant=shop_b).price == 1


def test_bulk_upsert_is_idempotent_and_price_and_stock_take_the_fast_path(shops, image_server):
    _, api = shops[0]
    items = [tee(image_server, f"TEE-{n}") for n in range(3)]

    first = api.post(f"{PRODUCTS}bulk/", {"items": items}, format="json").json()
    second = api.post(f"{PRODUCTS}bulk/", {"items": items}, format="json").json()

    assert (first["created"], first["failed"]) == (3, 0)
    assert (second["unchanged"], second["created"], second["updated"]) == (3, 0, 0)
    images, vectors = ProductImage.objects.count(), ImageEmbedding.objects.count()

    updates = [
        {"id": "TEE-0", "price": "9.90 EUR"},
        {"id": "TEE-1", "quantity": 0},
        {"id": "TEE-2", "sale_price": "30.00 EUR"},  # above the price
        {"id": "TEE-0", "quantity": 3},  # the same SKU twice in one request
        {"id": "NEW-1", "price": "5.00 EUR"},  # a new SKU needs a title
    ]
    answer = api.post(f"{PRODUCTS}bulk/", {"items": updates}, format="json").json()

    assert [r["status"] for r in answer["results"]] == [
        "updated",
        "updated",
        "failed",
        "failed",
        "failed",
    ]
    assert "above the price" in answer["results"][2]["errors"][0]["message"]
    assert answer["results"][3]["errors"][0]["code"] == "duplicate_id"
    assert answer["results"][4]["errors"][0]["field"] == "title"
    products = {p.sku: p for p in Product.objects.all()}
    assert str(products["TEE-0"].price) == "9.90" and not products["TEE-1"].in_stock
    assert products["TEE-2"].sale_price is None
    assert (ProductImage.objects.count(), ImageEmbedding.objects.count()) == (images, vectors)
    shown = APIClient().get("/api/v1/search/", {"q": "TEE-1", "in_stock": "true"}).json()
    assert all(hit["product"]["sku"] != "TEE-1" for hit in shown["results"])


def test_bulk_requests_are_bounded(shops):
    (_, api), _ = shops
    too_many = [{"id": f"S-{n}", "quantity": 1} for n in range(BULK_MAX_ITEMS + 1)]

    answer = api.post(f"{PRODUCTS}bulk/", {"items": too_many}, format="json")

    assert answer.status_code == 400 and answer.json()["error"]["code"] == "too_many_items"
    assert api.post(f"{PRODUCTS}bulk/", {"items": "all"}, format="json").status_code == 400


def test_a_sku_with_a_slash_or_spaces_is_addressable(shops, image_server):
    _, api = shops[0]
    sku = "TEE/NAVY M"
    api.post(PRODUCTS, tee(image_server, sku), format="json")
    url = f"{PRODUCTS}{quote(sku, safe='')}/"

    assert api.get(url).json()["id"] == sku
    assert api.patch(url, {"price": "9.90 EUR"}, format="json").json()["price"] == "9.90 EUR"
    assert api.delete(url).status_code == 204
    assert not Product.objects.exists()
