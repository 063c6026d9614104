"""The shopper JSON API, through HTTP: every endpoint, filters, paging, facets, bad input."""

import io
import struct
import zlib
from decimal import Decimal

import pytest
from PIL import Image

from catalog.models import Product
from tests.conftest import dataset_photos

pytestmark = pytest.mark.django_db(transaction=True)


def search(client, **params):
    return client.get("/api/v1/search/", params)


def test_text_search_returns_real_products_with_score_and_signals(client, indexed_catalog):
    response = search(client, q="shirt")

    body = response.json()
    assert response.status_code == 200
    assert body["total"] >= 10 and len(body["results"]) == min(24, body["total"])
    first = body["results"][0]
    assert set(first) == {"product", "score", "signals", "highlight", "variants"}
    assert first["score"] > 0 and set(first["signals"]) <= {"vector", "keyword"}
    assert "<mark>Shirt</mark>" in first["highlight"]["title"]
    assert Product.objects.filter(pk=first["product"]["id"]).exists()
    assert first["product"]["images"][0]["url"].startswith("/media/")
    keyword_hits = [r for r in body["results"] if "keyword" in r["signals"]]
    assert keyword_hits and all("Shirt" in r["product"]["title"] for r in keyword_hits)


def test_an_exact_sku_ranks_its_product_first(client, indexed_catalog):
    product = indexed_catalog.order_by("pk")[17]

    body = search(client, q=product.sku).json()

    assert body["results"][0]["product"]["id"] == product.pk
    assert "keyword" in body["results"][0]["signals"]


@pytest.mark.parametrize(("typo", "word"), [("tshrit", "T-Shirt"), ("sneekers", "Sneakers")])
def test_typos_still_find_the_products(client, indexed_catalog, typo, word):
    body = search(client, q=typo).json()

    keyword_hits = [r["product"]["title"] for r in body["results"] if "keyword" in r["signals"]]
    assert len(keyword_hits) == 5
    assert all(word in title for title in keyword_hits)


def test_nonsense_matches_no_keyword(client, indexed_catalog):
    body = search(client, q="xqzvbnkw").json()

    assert not [r for r in body["results"] if "keyword" in r["signals"]]


def test_filters_paging_and_facets(client, indexed_catalog):
    everything = search(client, q="dress", page_size=100).json()
    filtered = search(client, q="dress", category="dress", price_max="80", in_stock="true")

    body = filtered.json()
    assert 0 < body["total"] < everything["total"]
    for hit in body["results"]:
        product = Product.objects.get(pk=hit["product"]["id"])
        assert product.category.slug == "dress"
        assert product.price <= Decimal(80) and product.stock_quantity > 0
    # Facets count the whole filtered match set, not the page; the ticked category's count is
    # the total.
    (dress,) = [c for c in body["facets"]["category"] if c["selected"]]
    assert dress["value"] == "dress" and dress["count"] == body["total"]
    assert sum(b["count"] for b in body["facets"]["price_bands"]) == body["total"]
    page1 = search(client, q="dress", page_size=3).json()
    page2 = search(client, q="dress", page_size=3, page=2).json()
    ids1 = [r["product"]["id"] for r in page1["results"]]
    ids2 = [r["product"]["id"] for r in page2["results"]]
    assert page1["has_more"] and not set(ids1) & set(ids2)
    assert ids1 == [
        r["product"]["id"] for r in search(client, q="dress", page_size=3).json()["results"]
    ]


def test_photo_search_finds_the_product_of_that_photo_once(client, indexed_catalog):
    product = indexed_catalog.order_by("pk")[3]
    with product.images.get().file.open("rb") as fh:
        data = fh.read()

    response = client.post("/api/v1/search/photo/", {"image": io.BytesIO(data)})

    body = response.json()
    assert response.status_code == 200
    ids = [r["product"]["id"] for r in body["results"]]
    assert ids[0] == product.pk and len(ids) == len(set(ids))
    assert body["results"][0]["score"] == pytest.approx(1.0, abs=0.01)


def test_more_like_this_and_product_endpoints(client, indexed_catalog):
    product = indexed_catalog.order_by("pk")[0]

    similar = client.get(f"/api/v1/products/{product.pk}/similar/").json()
    detail = client.get(f"/api/v1/products/{product.pk}/")
    listing = client.get("/api/v1/products/", {"page_size": 10}).json()

    assert similar["total"] > 0
    assert product.pk not in [r["product"]["id"] for r in similar["results"]]
    assert detail.status_code == 200 and detail.json()["title"] == product.title
    assert listing["total"] == 50 and len(listing["results"]) == 10 and listing["has_more"]


def test_product_json_is_what_the_schema_declares(client, indexed_catalog):
    """The written-out representation (for speed) equals DRF's field-by-field one."""
    from rest_framework import serializers

    from catalog.selectors import products_for_storefront
    from retrieval.apis import ProductOutput

    product = products_for_storefront().filter(stock_quantity__gt=0).first()
    serializer = ProductOutput()

    fast = serializer.to_representation(product)
    declared = serializers.Serializer.to_representation(serializer, product)

    assert fast == declared
    assert fast["images"] and fast["category"]["slug"] == product.category.slug


@pytest.mark.parametrize("query", ["dress", "classic hat", "xqzvw"])
def test_search_page_json_is_what_the_schema_declares(indexed_catalog, query):
    """The written-out page (for speed) equals DRF's field-by-field one: hits, facets, the
    recovery of a query that matches nothing."""
    from rest_framework import serializers

    from retrieval.apis import SearchPageOutput
    from retrieval.filters import SearchFilters
    from retrieval.search import products_search_text

    page = products_search_text(query=query, filters=SearchFilters())
    serializer = SearchPageOutput(context={"query_id": "3f6c2a2e-0000-4000-8000-000000000000"})

    fast = serializer.to_representation(page)
    declared = serializers.Serializer.to_representation(serializer, page)

    assert fast == declared
    assert fast["results"] or fast["recovery"]


def test_schema_and_offline_swagger_ui(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200 and b"/api/v1/search/photo/" in schema.content
    assert docs.status_code == 200 and b"/static/drf_spectacular_sidecar/" in docs.content


# --- bad input: a clear 4xx with a message, never a 500 ------------------------------------


def image_bytes(fmt: str, size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "navy").save(out, fmt)
    return out.getvalue()


def jpeg_bytes(size=(64, 64)) -> bytes:
    return image_bytes("JPEG", size)


def png_bomb(side: int = 20000) -> bytes:
    """A few kB of PNG that would decode to side x side pixels."""
    row = b"\x00" + b"\x00" * side
    raw = zlib.compress(row * side, 9)

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"q": ""}, 400, "blank"),
        ({}, 400, "required"),
        ({"q": "x" * 10_000}, 400, "max_length"),
        ({"q": "hat", "category": "spaceships"}, 400, "unknown_category"),
        ({"q": "hat", "price_min": "-5"}, 400, "min_value"),
        ({"q": "hat", "price_min": "50", "price_max": "10"}, 400, "reversed_price_range"),
        ({"q": "hat", "in_stock": "maybe"}, 400, "invalid"),
        ({"q": "hat", "page": "0"}, 400, "min_value"),
        ({"q": "hat", "page": "999"}, 404, "page_out_of_range"),
        ({"q": "hat", "colour": "red"}, 400, "unknown_parameter"),
        ({"q": "hat", "fidelity": "0.5"}, 400, "creation_is_merchant_only"),
        ({"q": "hat", "mode": "create"}, 400, "creation_is_merchant_only"),
    ],
)
def test_bad_search_parameters(client, indexed_catalog, params, status, code):
    response = search(client, **params)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_creation_parameters_are_refused_everywhere(client, indexed_catalog):
    product = indexed_catalog.first()
    with dataset_photos(1)[0].open("rb") as photo:
        photo_response = client.post("/api/v1/search/photo/", {"image": photo, "fidelity": "0"})
    responses = [
        photo_response,
        client.get(f"/api/v1/products/{product.pk}/similar/", {"mode": "create"}),
        client.get("/api/v1/products/", {"strength": "0.3"}),
        client.get(f"/api/v1/products/{product.pk}/", {"fidelity": "0.2"}),
    ]

    for response in responses:
        assert response.status_code == 400
        assert "merchant-only studio feature" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"this is not an image at all", 400, "not_an_image"),
        (jpeg_bytes((400, 400))[:600], 400, "corrupt_image"),
        (png_bomb(), 400, "too_many_pixels"),
        (image_bytes("GIF"), 415, "unsupported_format"),
        (b"", 400, "empty_file"),
    ],
    ids=["text", "truncated-jpeg", "decompression-bomb", "gif", "empty"],
)
def test_bad_photos_are_refused(client, indexed_catalog, payload, status, code):
    response = client.post("/api/v1/search/photo/", {"image": io.BytesIO(payload)})

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_photo_over_the_size_limit_is_refused(client, settings, indexed_catalog):
    settings.FIDELIS_MAX_UPLOAD_BYTES = 1000

    response = client.post("/api/v1/search/photo/", {"image": io.BytesIO(jpeg_bytes((300, 300)))})

    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


def test_photo_search_without_a_file(client, indexed_catalog):
    response = client.post("/api/v1/search/photo/", {})

    assert response.status_code == 400 and response.json()["error"]["code"] == "no_image"


def test_unknown_product_is_404(client, indexed_catalog):
    assert client.get("/api/v1/products/999999/").status_code == 404
    assert client.get("/api/v1/products/999999/similar/").status_code == 404
