"""Reads for retrieval: nearest neighbours in the vector index."""

from __future__ import annotations

import numpy as np

from retrieval.encoders import ClipEncoder
from retrieval.models import ImageEmbedding
from retrieval.vector_index import nearest_vector_distance


def image_neighbours(*, query_vector: np.ndarray, encoder: ClipEncoder, limit: int = 10):
    """Image embeddings of `encoder` nearest to `query_vector` (HNSW, cosine), with `distance`."""
    return (
        ImageEmbedding.objects.filter(encoder=encoder.identity)
        .annotate(distance=nearest_vector_distance(query_vector, dim=encoder.dim))
        .order_by("distance")[:limit]
    )
