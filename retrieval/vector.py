"""The vector half of search: nearest products in pgvector's HNSW index, filters applied inside.

Filters and the strict-fidelity rule run inside the index scan (pgvector's iterative scan keeps
reading the HNSW graph until enough rows pass them), so a selective filter never empties the
result list while matches exist further down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import transaction

from catalog.selectors import product_images_shown_sql
from config.replicas import read_connection
from retrieval.encoders import ClipEncoder
from retrieval.filters import SearchFilters
from retrieval.models import ProductEmbedding
from retrieval.vector_index import vector_literal

# Candidates taken from the vector half: the result set a query ranks, pages and counts facets
# over. At 100k products top-200 cost 6.5 ms against 2.3-3.0 ms for top-10 (bench/search.py).
VECTOR_CANDIDATES = 100
# Photo search reads at most this many images for each product it ranks: where products have
# more images than this on average, it ranks fewer products.
MAX_IMAGES_READ_PER_PRODUCT = 10

# Written in SQL, not built with the ORM: building and compiling the query took longer than
# PostgreSQL took to run it. The ORDER BY expression is the HNSW index's own
# (retrieval/vector_index.py), and the iterative scan (retrieval/session.py) keeps reading the
# graph until enough rows pass the filters and the strict-fidelity rule.
_NEAREST_PRODUCTS_SQL = """
SELECT product_id, (vector::halfvec({dim})) <=> %s::halfvec({dim}) AS distance
FROM retrieval_productembedding
WHERE encoder = %s AND product_id IN ({products}) AND NOT (product_id = ANY(%s))
ORDER BY distance LIMIT %s
"""

_NEAREST_IMAGES_SQL = """
SELECT image.product_id, (embedding.vector::halfvec({dim})) <=> %s::halfvec({dim}) AS distance
FROM retrieval_imageembedding AS embedding
JOIN catalog_productimage AS image ON image.id = embedding.image_id
WHERE embedding.encoder = %s AND embedding.image_id IN ({images})
  AND image.product_id IN ({products})
ORDER BY distance LIMIT %s
"""


def product_vector_ranking(
    query_vector: Sequence[float],
    *,
    encoder: ClipEncoder,
    filters: SearchFilters,
    limit: int = VECTOR_CANDIDATES,
    exclude_ids: Sequence[int] = (),
) -> list[tuple[int, float]]:
    """(product id, cosine distance) of the searchable products nearest to `query_vector`."""
    products, params = filters.products_sql()
    sql = _NEAREST_PRODUCTS_SQL.format(dim=int(encoder.dim), products=products)
    rows = _fetch(
        sql,
        [vector_literal(query_vector), encoder.identity, *params, list(exclude_ids), limit],
    )
    return sorted(rows, key=lambda row: (row[1], row[0]))


def image_vector_ranking(
    query_vector: Sequence[float],
    *,
    encoder: ClipEncoder,
    filters: SearchFilters,
    limit: int = VECTOR_CANDIDATES,
) -> list[tuple[int, float]]:
    """Products ranked by their *best* image's distance to `query_vector` (one row each)."""
    images, image_params = product_images_shown_sql()
    products, product_params = filters.products_sql()
    sql = _NEAREST_IMAGES_SQL.format(dim=int(encoder.dim), images=images, products=products)
    params = [vector_literal(query_vector), encoder.identity, *image_params, *product_params]
    connection = read_connection()
    rows: list[tuple[int, float]] = []
    found: set[int] = set()
    # A product with several images appears once per image, so images are read, nearest
    # first, until `limit` products are found. A cursor reads them as the index scan goes, and
    # each read resumes the scan where it stopped. At 100,000 products of one image each this
    # took 5.4 ms, against 7.2 for the fixed 200 rows read before (for products of two images).
    with transaction.atomic(using=connection.alias), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [*params, limit * MAX_IMAGES_READ_PER_PRODUCT])
        while len(found) < limit:
            batch = cursor.fetchmany(limit - len(found))
            if not batch:
                break
            rows += batch
            found.update(product_id for product_id, _ in batch)
    best: dict[int, float] = {}
    for product_id, distance in sorted(rows, key=lambda row: (row[1], row[0])):
        best.setdefault(product_id, distance)
    return list(best.items())[:limit]


def _fetch(sql: str, params: list) -> list[tuple]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def product_vector(product_id: int, *, encoder: ClipEncoder) -> np.ndarray | None:
    vector = (
        ProductEmbedding.objects.filter(product_id=product_id, encoder=encoder.identity)
        .values_list("vector", flat=True)
        .first()
    )
    return None if vector is None else np.asarray(vector, dtype=np.float32)
