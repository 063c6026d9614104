"""The vector indexes' HNSW graph and search breadth come from the settings; a graph of other
parameters is rebuilt on request, concurrently, and searches keep their index throughout."""

import logging

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings

from catalog.models import Merchant, Product, ProductImage
from retrieval.encoders import get_encoder
from retrieval.filters import SearchFilters
from retrieval.models import ImageEmbedding, ProductEmbedding
from retrieval.session import auto_ef_search
from retrieval.vector import product_vector_ranking
from retrieval.vector_index import Graph, ensure_vector_indexes, vector_indexes

# Outside a transaction, as production runs it: the rebuild is CREATE INDEX CONCURRENTLY.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded_products():
    encoder = get_encoder()
    shop = Merchant.objects.create(name="Graph", slug="graph")
    products = Product.objects.bulk_create(
        Product(merchant=shop, title=f"Item {i}", slug=f"item-{i}", price=5, stock_quantity=1)
        for i in range(40)
    )
    ProductImage.objects.bulk_create(
        ProductImage(product=p, file="products/x.jpg", sha256=f"{p.pk:064x}", width=1, height=1)
        for p in products
    )
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(products), encoder.dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ProductEmbedding.objects.bulk_create(
        ProductEmbedding(product=p, encoder=encoder.identity, vector=v)
        for p, v in zip(products, vectors, strict=True)
    )
    return encoder, products, vectors


def _graphs(encoder) -> dict[str, list[Graph]]:
    return {
        model.__name__: [index.graph for index in vector_indexes(model, encoder.identity)]
        for model in (ImageEmbedding, ProductEmbedding)
    }


def _nearest_uses_index(encoder, vector) -> str:
    with connection.cursor() as cursor:
        # 40 rows: the planner would scan and sort otherwise (once autovacuum has analysed them).
        cursor.execute(
            "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off"
        )
        try:
            ranking = product_vector_ranking(vector, encoder=encoder, filters=SearchFilters())
            cursor.execute(
                "EXPLAIN SELECT product_id FROM retrieval_productembedding WHERE encoder = %s "
                f"ORDER BY (vector::halfvec({encoder.dim})) <=> %s::halfvec({encoder.dim}) LIMIT 5",
                [encoder.identity, "[" + ",".join(map(str, vector)) + "]"],
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort")
    return ranking, plan


def test_indexes_are_built_with_the_configured_graph(embedded_products):
    encoder, products, vectors = embedded_products
    ensure_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)

    assert _graphs(encoder) == {
        "ImageEmbedding": [Graph(16, 256)],
        "ProductEmbedding": [Graph(16, 256)],
    }
    ranking, plan = _nearest_uses_index(encoder, vectors[7])
    assert ranking[0][0] == products[7].pk
    assert "retrieval_productembedding_hnsw_" in plan


def test_a_changed_graph_is_kept_until_rebuilt_then_replaces_the_old(embedded_products, caplog):
    encoder, products, vectors = embedded_products
    ensure_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)
    [old] = vector_indexes(ProductEmbedding, encoder.identity)

    with override_settings(FIDELIS_HNSW_M=24, FIDELIS_HNSW_EF_CONSTRUCTION=80):
        with caplog.at_level(logging.WARNING, logger="fidelis.vector_index"):
            ensure_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)
        # An indexing job never starts a rebuild: it says how, and the old graph serves.
        assert "reindex --rebuild-index" in caplog.text
        assert _graphs(encoder)["ProductEmbedding"] == [Graph(16, 256)]

        call_command("reindex", "--rebuild-index", stdout=None)

        assert _graphs(encoder) == {
            "ImageEmbedding": [Graph(24, 80)],
            "ProductEmbedding": [Graph(24, 80)],
        }
        [new] = vector_indexes(ProductEmbedding, encoder.identity)
        assert new.valid and new.name != old.name
        ranking, plan = _nearest_uses_index(encoder, vectors[11])
        assert ranking[0][0] == products[11].pk
        assert new.name in plan

        call_command("reindex", "--rebuild-index", stdout=None)  # nothing left to change
        assert vector_indexes(ProductEmbedding, encoder.identity) == [new]


def test_search_connections_use_the_configured_breadth():
    def breadth() -> str:
        fresh = connections.create_connection("default")
        try:
            with fresh.cursor() as cursor:
                cursor.execute("SHOW hnsw.ef_search")
                return cursor.fetchone()[0]
        finally:
            fresh.close()

    assert breadth() == "100"  # "auto", for a catalog of a few vectors
    with override_settings(FIDELIS_HNSW_EF_SEARCH=333):
        assert breadth() == "333"


def test_the_automatic_breadth_widens_with_the_catalog():
    # bench/search.py: the default graph keeps recall@10 >= 0.98 at 100 up to ~100,000
    # vectors, and needs 300 at 1,000,000.
    assert auto_ef_search(0) == auto_ef_search(100_000) == 100
    assert auto_ef_search(1_000_000) == 300
    assert auto_ef_search(100_000) < auto_ef_search(500_000) < auto_ef_search(5_000_000)
