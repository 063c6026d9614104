"""A filter that keeps 2% of the catalog still returns every match in the vector half."""

from decimal import Decimal

import numpy as np
import pytest
from django.db import connection

from catalog.models import Category, Merchant, Product, ProductImage
from retrieval.encoders import get_encoder
from retrieval.filters import SearchFilters
from retrieval.models import ProductEmbedding
from retrieval.vector import EF_SEARCH, product_vector_ranking
from retrieval.vector_index import ensure_vector_indexes

pytestmark = pytest.mark.django_db

CATALOG = 1000


@pytest.fixture
def big_catalog():
    """1,000 searchable products with clustered vectors; 20 (2%) priced 500 and up."""
    encoder = get_encoder()
    shop = Merchant.objects.create(name="Big", slug="big")
    category = Category.objects.create(name="Things", slug="things")
    rng = np.random.default_rng(7)
    products = Product.objects.bulk_create(
        Product(
            merchant=shop,
            title=f"Thing {i}",
            slug=f"thing-{i}",
            category=category,
            price=Decimal(500 + i) if i % 50 == 0 else Decimal(10 + i % 400),
            stock_quantity=1,
        )
        for i in range(CATALOG)
    )
    ProductImage.objects.bulk_create(
        ProductImage(product=p, file="products/x.jpg", sha256=f"{p.pk:064x}", width=1, height=1)
        for p in products
    )
    centres = rng.normal(size=(10, encoder.dim))
    vectors = centres[rng.integers(0, 10, CATALOG)] + 0.5 * rng.normal(size=(CATALOG, encoder.dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ensure_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)
    ProductEmbedding.objects.bulk_create(
        ProductEmbedding(product=p, encoder=encoder.identity, vector=v)
        for p, v in zip(products, vectors, strict=True)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE retrieval_productembedding")
    return encoder, vectors


@pytest.mark.parametrize("plan", ["planner's choice", "hnsw index forced"])
def test_two_percent_filter_returns_all_matches(big_catalog, plan):
    encoder, vectors = big_catalog
    expensive = SearchFilters(price_min=Decimal(500))
    assert expensive.products().count() == CATALOG * 2 // 100
    assert EF_SEARCH < CATALOG  # a plain HNSW scan sees only ~ef_search rows
    if plan == "hnsw index forced":
        # The plan large catalogs get: walk the HNSW graph, filter as rows come.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")

    found = product_vector_ranking(vectors[1], encoder=encoder, products=expensive.products())

    assert len(found) == 20
    assert {pid for pid, _ in found} == set(expensive.products().values_list("pk", flat=True))
    distances = [d for _, d in found]
    assert distances == sorted(distances)


def test_unfiltered_query_uses_the_hnsw_index(big_catalog):
    encoder, vectors = big_catalog
    from retrieval.vector_index import nearest_vector_distance

    query = (
        ProductEmbedding.objects.filter(encoder=encoder.identity)
        .annotate(distance=nearest_vector_distance(vectors[0], dim=encoder.dim))
        .order_by("distance")[:10]
    )

    assert "retrieval_productembedding_hnsw_" in query.explain()
