"""Shopper search: words, a photo, or a product in; a page of real catalog products out.

Every path starts from `SearchFilters.products()` (or its compiled SQL, `products_sql()`), i.e.
from catalog.selectors.products_searchable (the strict-fidelity rule): nothing else is ever
ranked.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rest_framework import exceptions

from catalog.images import inspect_image
from catalog.models import Product
from catalog.selectors import products_displayed, products_searchable
from retrieval.encoders import get_encoder
from retrieval.facets import facet_counts
from retrieval.filters import SearchFilters
from retrieval.fusion import FusedHit, reciprocal_rank_fusion
from retrieval.keyword import keyword_ranking
from retrieval.vector import image_vector_ranking, product_vector, product_vector_ranking

PAGE_SIZE = 24

# A text query is encoded on this pool while the database runs the keyword half: ONNX Runtime
# and psycopg both release the GIL, so the two overlap (bench/search.py, HTTP text search).
# Threads start on first use, after any fork of the app server.
_text_encoding = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fidelis-text-encode")


class PageOutOfRange(exceptions.NotFound):
    """A page past the last one: 404 in the API; pages link back to the last page."""

    default_code = "page_out_of_range"

    def __init__(self, page: int, last_page: int):
        super().__init__(f"Page {page} is beyond the last page ({last_page}).")
        self.page, self.last_page = page, last_page


@dataclass(frozen=True)
class SearchHit:
    product: Product
    score: float
    signals: tuple[str, ...]


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    page: int
    page_size: int
    facets: dict

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def has_more(self) -> bool:
        return self.page < self.num_pages


def products_search_text(
    *, query: str, filters: SearchFilters, page: int = 1, page_size: int = PAGE_SIZE
) -> SearchPage:
    """Vector (CLIP text embedding) and keyword (full text, typo-tolerant) rankings, fused."""
    encoder = get_encoder()
    encoding = _text_encoding.submit(encoder.encode_texts, [query])
    keyword_ids = keyword_ranking(query, filters)
    query_vector = encoding.result()[0]
    vector_ids = [
        pid for pid, _ in product_vector_ranking(query_vector, encoder=encoder, filters=filters)
    ]
    fused = reciprocal_rank_fusion({"vector": vector_ids, "keyword": keyword_ids})
    return _page_of(fused, page=page, page_size=page_size)


def products_search_photo(
    *, image_data: bytes, filters: SearchFilters, page: int = 1, page_size: int = PAGE_SIZE
) -> SearchPage:
    """Products whose best image is nearest to the photo. Raises ValidationError for bad images."""
    encoder = get_encoder()
    # One decode, at the scale the encoder needs, both checks the photo and feeds the model.
    photo = inspect_image(image_data, draft=encoder.draft_size)
    query_vector = encoder.encode_images(encoder.pixels_of(photo.image)[None])[0]
    ranking = image_vector_ranking(query_vector, encoder=encoder, filters=filters)
    return _page_of(_similarity_hits(ranking), page=page, page_size=page_size)


def products_similar(
    *, product_id: int, filters: SearchFilters, page: int = 1, page_size: int = PAGE_SIZE
) -> SearchPage:
    """More like this: the real products nearest to a searchable product (never itself)."""
    products_searchable().get(pk=product_id)  # Product.DoesNotExist for hidden products
    encoder = get_encoder()
    vector = product_vector(product_id, encoder=encoder)
    if vector is None:  # not indexed yet
        return _page_of([], page=page, page_size=page_size)
    ranking = product_vector_ranking(
        vector, encoder=encoder, filters=filters, exclude_ids=[product_id]
    )
    return _page_of(_similarity_hits(ranking), page=page, page_size=page_size)


def _similarity_hits(ranking: list[tuple[int, float]]) -> list[FusedHit]:
    return [FusedHit(pid, round(1.0 - distance, 6), ("vector",)) for pid, distance in ranking]


def _page_of(hits: list[FusedHit], *, page: int, page_size: int) -> SearchPage:
    total = len(hits)
    last_page = max(1, math.ceil(total / page_size))
    if page > last_page:
        raise PageOutOfRange(page, last_page)
    shown = hits[(page - 1) * page_size : page * page_size]
    products = products_displayed([hit.product_id for hit in shown])
    return SearchPage(
        # A product deleted since it was ranked is left out rather than failing the page.
        hits=[
            SearchHit(products[hit.product_id], hit.score, hit.signals)
            for hit in shown
            if hit.product_id in products
        ],
        total=total,
        page=page,
        page_size=page_size,
        facets=facet_counts([hit.product_id for hit in hits]),
    )
