"""The vector half of search: nearest products in pgvector's HNSW index, filters applied inside.

Filters and the strict-fidelity rule run inside the index scan (pgvector's iterative scan keeps
reading the HNSW graph until enough rows pass them), so a selective filter never empties the
result list while matches exist further down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction

from catalog.models import ProductQuerySet
from catalog.selectors import product_images_shown
from retrieval.encoders import ClipEncoder
from retrieval.models import ImageEmbedding, ProductEmbedding
from retrieval.vector_index import nearest_vector_distance

# Candidates taken from the vector half: the result set a query ranks, pages and counts facets
# over. At 100k products top-200 cost 10.8 ms against 7.4 ms for top-10 (bench/search.py).
VECTOR_CANDIDATES = 100
# HNSW search breadth: at 100 recall@10 was 0.9765 on 100k clustered 512-d halfvecs; 200 as
# MODELS.md measured for halfvec (bench/search.py).
EF_SEARCH = 200
# Upper bound on rows an iterative scan visits before giving up (pgvector's default is 20,000).
MAX_SCAN_TUPLES = 50_000


def _iterative_scan() -> None:
    with connection.cursor() as cursor:
        # relaxed_order: keep scanning past filtered-out rows; results re-sorted below.
        # One statement, one round trip.
        cursor.execute(
            "SET LOCAL hnsw.iterative_scan = relaxed_order; "
            f"SET LOCAL hnsw.ef_search = {EF_SEARCH}; "
            f"SET LOCAL hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}"
        )


def product_vector_ranking(
    query_vector: Sequence[float],
    *,
    encoder: ClipEncoder,
    products: ProductQuerySet,
    limit: int = VECTOR_CANDIDATES,
    exclude_ids: Sequence[int] = (),
) -> list[tuple[int, float]]:
    """(product id, cosine distance) of the `products` nearest to `query_vector`."""
    with transaction.atomic():
        _iterative_scan()
        embeddings = ProductEmbedding.objects.filter(encoder=encoder.identity, product__in=products)
        if exclude_ids:
            embeddings = embeddings.exclude(product_id__in=exclude_ids)
        rows = list(
            embeddings.annotate(distance=nearest_vector_distance(query_vector, dim=encoder.dim))
            .order_by("distance")
            .values_list("product_id", "distance")[:limit]
        )
    return sorted(rows, key=lambda row: (row[1], row[0]))


def image_vector_ranking(
    query_vector: Sequence[float],
    *,
    encoder: ClipEncoder,
    products: ProductQuerySet,
    limit: int = VECTOR_CANDIDATES,
) -> list[tuple[int, float]]:
    """Products ranked by their *best* image's distance to `query_vector` (one row each)."""
    with transaction.atomic():
        _iterative_scan()
        rows = list(
            ImageEmbedding.objects.filter(
                encoder=encoder.identity,
                image__in=product_images_shown(),
                image__product__in=products,
            )
            .annotate(distance=nearest_vector_distance(query_vector, dim=encoder.dim))
            .order_by("distance")
            # Extra rows: a product with several images may appear more than once.
            .values_list("image__product_id", "distance")[: limit * 2]
        )
    best: dict[int, float] = {}
    for product_id, distance in sorted(rows, key=lambda row: (row[1], row[0])):
        best.setdefault(product_id, distance)
    return list(best.items())[:limit]


def product_vector(product_id: int, *, encoder: ClipEncoder) -> np.ndarray | None:
    vector = (
        ProductEmbedding.objects.filter(product_id=product_id, encoder=encoder.identity)
        .values_list("vector", flat=True)
        .first()
    )
    return None if vector is None else np.asarray(vector, dtype=np.float32)
