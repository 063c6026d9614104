"""Storefront search pages through HTTP: results, filters, errors with a message."""

import io

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_search_page_shows_results_and_filter_controls(client, indexed_catalog):
    page = client.get("/search/", {"q": "sneekers"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "Results for “sneekers”" in html and "Sneakers" in html
    assert 'name="category" value="shoes"' in html and 'name="in_stock"' in html


def test_filters_apply_on_the_page(client, indexed_catalog):
    html = client.get("/search/", {"q": "hat", "category": "hat"}).content.decode()

    assert html.count('class="card"') == 5
    assert 'value="hat" checked' in html


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"q": "hat", "price_min": "9", "price_max": "1"}, 400, "is below price_min"),
        ({"q": "hat", "fidelity": "0.3"}, 400, "merchant-only studio feature"),
        ({"q": "hat", "page": "40"}, 404, "beyond the last page"),
        ({"q": "x" * 300}, 400, "no more than 200 characters"),
    ],
)
def test_bad_search_shows_a_message(client, indexed_catalog, params, status, message):
    response = client.get("/search/", params)

    assert response.status_code == status
    assert message in response.content.decode()


def test_photo_search_page(client, indexed_catalog):
    product = indexed_catalog.order_by("pk")[5]
    with product.images.get().file.open("rb") as fh:
        response = client.post("/search/photo/", {"image": io.BytesIO(fh.read())})

    html = response.content.decode()
    assert response.status_code == 200 and "Products like your photo" in html
    assert html.index(product.title) < html.index("</ul>")


def test_photo_search_page_refuses_a_text_file(client, indexed_catalog):
    response = client.post("/search/photo/", {"image": io.BytesIO(b"hello, not a photo")})

    assert response.status_code == 400
    assert "not an image we can read" in response.content.decode()


def test_product_page_shows_more_like_this(client, indexed_catalog):
    product = indexed_catalog.order_by("pk")[0]

    html = client.get(f"/products/{product.pk}/{product.slug}/").content.decode()

    assert "More like this" in html
    similar = html.split("More like this")[1]
    assert similar.count('class="card"') == 8 and product.title not in similar


@pytest.mark.parametrize("path", ["/search/", "/api/v1/search/"])
def test_a_bigger_page_costs_no_more_queries(client, indexed_catalog, path):
    """Cards and JSON read only what was fetched for the page (no query per product)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, {"q": "shirt", "page_size": page_size})
        assert response.status_code == 200
        return len(queries.captured_queries)

    queries_for(24)  # warm up: one-time work of a first request is not what is compared
    assert queries_for(2) == queries_for(24)
