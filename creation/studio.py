"""The studio's one slider, from search to create (merchant-only).

fidelity 1 returns what exists: the very products shopper search returns, nothing generated.
Between 0 and 1 the nearest real products come first, then image-to-image variations of the best
real match of the merchant's own (strength = 1 - fidelity). At 0, text-to-image from the query.
Generated images go through the create jobs, so they are registered, tagged and signed first.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from catalog.models import GeneratedImage, Merchant, Product, ProductImage
from catalog.selectors import products_for_storefront
from creation.bounds import FIDELITY
from creation.models import CreateJob
from creation.services import CreateRequest, create_job_submit
from retrieval.filters import SearchFilters
from retrieval.search import (
    SearchPage,
    products_search_photo,
    products_search_text,
    products_similar,
)

# Labelled stops of the slider (the slider itself is continuous).
STOPS = (
    (1.0, "in catalog"),
    (0.7, "close variation"),
    (0.3, "loose concept"),
    (0.0, "from scratch"),
)
REAL_SHOWN = 12
CONCEPTS_DEFAULT = 2
STEPS_DEFAULT = 20


def stop_label(fidelity: float) -> str:
    """The label of the stop nearest to `fidelity`."""
    return min(STOPS, key=lambda stop: abs(stop[0] - fidelity))[1]


@dataclass(frozen=True)
class StudioQuery:
    """Exactly one of text, photo or product, and where on the slider to answer it."""

    fidelity: float
    text: str = ""
    photo: bytes | None = None
    product_id: int | None = None
    seed: int | None = None
    num_images: int = CONCEPTS_DEFAULT
    steps: int = STEPS_DEFAULT

    @property
    def kind(self) -> str:
        return "photo" if self.photo is not None else "product" if self.product_id else "text"


@dataclass(frozen=True)
class StudioResult:
    query: StudioQuery
    real: SearchPage  # what shopper search returns for the same query
    query_product: Product | None  # a product query's own product
    source_image: ProductImage | None  # where the variations start from
    job: CreateJob | None  # None at fidelity 1: nothing is generated

    @property
    def stop(self) -> str:
        return stop_label(self.query.fidelity)


def studio_query_check(query: StudioQuery) -> None:
    """Raise ValidationError (a 400) unless the query is exactly one of words, photo or product."""
    given = [bool(query.text), query.photo is not None, query.product_id is not None]
    if sum(given) == 0:
        raise ValidationError(
            "Type a few words, upload a photo or pick a product.", code="empty_query"
        )
    if sum(given) > 1:
        raise ValidationError(
            "Give one query at a time: words, a photo or a product.", code="several_queries"
        )
    if query.fidelity not in FIDELITY:
        raise ValidationError(
            f"Fidelity is a number from {FIDELITY.low} to {FIDELITY.high}.", code="bad_fidelity"
        )


def studio_search(*, merchant: Merchant, user, query: StudioQuery) -> StudioResult:
    """Answer a studio query; below fidelity 1 this queues a create job (QuotaExceeded applies).

    Raises ValidationError for bad queries and Product.DoesNotExist for an unknown product.
    """
    query_product, real = _real_products(query)
    if query.fidelity >= 1:
        return StudioResult(query, real, query_product, None, None)

    source = None
    if query.fidelity > 0:
        source = _source_image(merchant, query, real, query_product)
    prompt = query.text or _prompt_from(source, query_product, real)
    job = create_job_submit(
        merchant=merchant,
        user=user,
        request=CreateRequest(
            prompt=prompt,
            seed=query.seed,
            steps=query.steps,
            num_images=query.num_images,
            source_image=source,
            fidelity=query.fidelity,
        ),
    )
    return StudioResult(query, real, query_product, source, job)


def products_like_concept(
    *, concept: GeneratedImage, filters: SearchFilters, page: int = 1, page_size: int
) -> SearchPage:
    """Back from concept to catalog: photo search over the real products with the concept."""
    with concept.file.open("rb") as fh:
        data = fh.read()
    return products_search_photo(image_data=data, filters=filters, page=page, page_size=page_size)


def studio_result_shown(*, query: StudioQuery, job: CreateJob | None) -> StudioResult:
    """A studio query answered before, shown again: the same real products and its job.

    Reads only, so the results page can be reloaded and bookmarked (words or product queries).
    """
    query_product, real = _real_products(query)
    source = job.source_image if job is not None else None
    return StudioResult(query, real, query_product, source, job)


def _real_products(query: StudioQuery) -> tuple[Product | None, SearchPage]:
    studio_query_check(query)
    query_product = None
    if query.product_id is not None:
        query_product = products_for_storefront().get(pk=query.product_id)
    return query_product, _search(query, SearchFilters(), page_size=REAL_SHOWN)


def _search(query: StudioQuery, filters: SearchFilters, *, page_size: int) -> SearchPage:
    """The shopper's search for this query: text search, photo search or more like this."""
    if query.kind == "photo":
        return products_search_photo(image_data=query.photo, filters=filters, page_size=page_size)
    if query.kind == "product":
        return products_similar(product_id=query.product_id, filters=filters, page_size=page_size)
    return products_search_text(query=query.text, filters=filters, page_size=page_size)


def _source_image(
    merchant: Merchant, query: StudioQuery, real: SearchPage, query_product: Product | None
) -> ProductImage:
    """The best real match of the merchant's own: variations start only from own products."""
    if query_product is not None:
        if query_product.merchant_id != merchant.pk:
            raise ValidationError(
                "Variations start from your own products: pick one of your shop's products "
                "(at fidelity 1 any product can be searched).",
                code="not_your_product",
            )
        return query_product.shown_images[0]
    own = [hit for hit in real.hits if hit.product.merchant_id == merchant.pk]
    if not own:  # the shopper's first page is someone else's: search the shop's own products
        own = _search(query, SearchFilters(merchant_id=merchant.pk), page_size=1).hits
    if not own:
        raise ValidationError(
            "None of your products matches this query, so there is nothing to vary: "
            "set the fidelity to 0 to create from scratch.",
            code="no_source_product",
        )
    return own[0].product.shown_images[0]


def _prompt_from(
    source: ProductImage | None, query_product: Product | None, real: SearchPage
) -> str:
    """A photo or product query has no words: the generator is prompted with a product title."""
    if source is not None:
        return source.product.title
    if query_product is not None:
        return query_product.title
    if real.hits:
        return real.hits[0].product.title
    raise ValidationError(
        "No real product matches this photo, so there are no words to create from: "
        "type a few words instead.",
        code="no_words",
    )
