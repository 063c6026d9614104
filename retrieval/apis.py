"""Shopper JSON API, /api/v1/: search by text or photo, more like this, products.

Every endpoint returns only real catalog products (catalog.selectors.products_searchable).
"""

from __future__ import annotations

import time

from django.http import Http404
from django.urls import reverse
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.events import search_logged
from catalog.images import read_upload, single_upload
from catalog.models import Availability
from catalog.selectors import products_for_storefront
from config.replicas import replica_reads
from config.throttles import PhotoSearchThrottle, SearchThrottle, SuggestThrottle
from retrieval.params import FilterParams, TextSearchParams, parse, reject_unexpected
from retrieval.search import (
    SearchPage,
    products_search_photo,
    products_search_text,
    products_similar,
)
from retrieval.suggest import MAX_SUGGESTIONS, suggestions_for


class ImageOutput(serializers.Serializer):
    url = serializers.CharField(source="file.url")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class CategoryOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    sku = serializers.CharField()
    description = serializers.CharField()
    category = CategoryOutput(allow_null=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    sale_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    availability = serializers.ChoiceField(choices=Availability.choices)
    stock_quantity = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    brand = serializers.CharField()
    color = serializers.CharField()
    size = serializers.CharField()
    item_group_id = serializers.CharField(help_text="Variants of one item share it.")
    images = ImageOutput(many=True, source="shown_images")
    url = serializers.SerializerMethodField()

    def get_url(self, product) -> str:
        return reverse("storefront:product", args=[product.pk, product.slug])

    def to_representation(self, product) -> dict:
        # Written out: DRF's field-by-field path took ~1.7 ms for a page of 24 products, a
        # tenth of a whole search. The fields above stay the schema; a test keeps both equal.
        category = product.category
        return {
            "id": product.pk,
            "title": product.title,
            "sku": product.sku,
            "description": product.description,
            "category": None
            if category is None
            else {"slug": category.slug, "name": category.name},
            "price": f"{product.price:.2f}",
            "sale_price": None if product.sale_price is None else f"{product.sale_price:.2f}",
            "currency": product.currency,
            "availability": product.availability,
            "stock_quantity": product.stock_quantity,
            "in_stock": product.in_stock,
            "brand": product.brand,
            "color": product.color,
            "size": product.size,
            "item_group_id": product.item_group_id,
            "images": [
                {"url": image.file.url, "width": image.width, "height": image.height}
                for image in product.shown_images
            ],
            "url": self.get_url(product),
        }


_PRODUCT_OUTPUT = ProductOutput()  # stateless: one for every representation


class VariantsOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="Searchable variants of the item.")
    colors = serializers.ListField(child=serializers.CharField())
    sizes = serializers.ListField(child=serializers.CharField())


class HighlightOutput(serializers.Serializer):
    title = serializers.CharField(help_text="HTML: escaped, matched words in <mark>.")
    description = serializers.CharField(help_text="HTML snippet: escaped, matches in <mark>.")


class HitOutput(serializers.Serializer):
    product = ProductOutput(
        help_text="The item's best-ranked variant: variants sharing an item_group_id are one hit."
    )
    score = serializers.FloatField(
        help_text="Text search: reciprocal-rank-fusion score. Photo and similar: cosine similarity."
    )
    signals = serializers.ListField(
        child=serializers.CharField(), help_text='Which rankings matched: "vector", "keyword".'
    )

    highlight = HighlightOutput(allow_null=True, help_text="Text search only.")
    variants = VariantsOutput(allow_null=True, help_text="Null: the product has no variants.")

    def to_representation(self, hit) -> dict:
        product = _PRODUCT_OUTPUT.to_representation(hit.product)
        variants = hit.variants
        return {
            "product": product,
            "score": hit.score,
            "signals": list(hit.signals),
            "highlight": hit.highlight,
            "variants": None
            if variants is None
            else {"count": variants.count, "colors": variants.colors, "sizes": variants.sizes},
        }


class FacetValueOutput(serializers.Serializer):
    value = serializers.CharField(help_text="What to send back in the facet's parameter.")
    label = serializers.CharField()
    count = serializers.IntegerField(
        help_text="Items among the matches the other facets' selections admit."
    )
    selected = serializers.BooleanField()


class PriceBandOutput(serializers.Serializer):
    label = serializers.CharField()
    min = serializers.CharField(allow_null=True)
    max = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()


class FacetsOutput(serializers.Serializer):
    category = FacetValueOutput(many=True)
    brand = FacetValueOutput(many=True)
    color = FacetValueOutput(many=True)
    size = FacetValueOutput(many=True)
    price_bands = PriceBandOutput(many=True)


class RecoveryOutput(serializers.Serializer):
    did_you_mean = serializers.CharField(
        allow_null=True, help_text="A spelling that has matches: search for it in one click."
    )
    relaxed_query = serializers.CharField(
        allow_null=True,
        help_text="Nothing matched every word: the results match these words instead.",
    )
    dropped_words = serializers.ListField(child=serializers.CharField())
    you_might_like = ProductOutput(
        many=True, help_text="In-stock products of the nearest category. Not matches."
    )

    def to_representation(self, page) -> dict:
        recovery = page.recovery
        return {
            "did_you_mean": recovery.did_you_mean,
            "relaxed_query": recovery.relaxed_query,
            "dropped_words": list(recovery.dropped_words),
            "you_might_like": [_PRODUCT_OUTPUT.to_representation(p) for p in page.you_might_like],
        }


class SearchPageOutput(serializers.Serializer):
    query_id = serializers.SerializerMethodField(
        help_text="Send it back with clicks on these results (POST /api/v1/events/)."
    )
    results = HitOutput(many=True, source="hits")
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    has_more = serializers.BooleanField()
    sort = serializers.CharField()
    facets = FacetsOutput()
    recovery = serializers.SerializerMethodField(
        help_text="Set when nothing matched the query as typed: each recovery step, labelled."
    )

    @extend_schema_field(serializers.UUIDField())
    def get_query_id(self, page) -> str:
        return self.context["query_id"]

    @extend_schema_field(RecoveryOutput(allow_null=True))
    def get_recovery(self, page) -> dict | None:
        return None if page.recovery is None else RecoveryOutput().to_representation(page)

    def to_representation(self, page) -> dict:
        # Written out like ProductOutput's: binding the declared fields (a deep copy of every
        # nested serializer) cost more than the rest of the page. A test keeps both equal.
        hit_output = HitOutput()
        return {
            "query_id": self.get_query_id(page),
            "results": [hit_output.to_representation(hit) for hit in page.hits],
            "total": page.total,
            "page": page.page,
            "page_size": page.page_size,
            "num_pages": page.num_pages,
            "has_more": page.has_more,
            "sort": page.sort,
            "facets": page.facets,
            "recovery": self.get_recovery(page),
        }


# Query parameters documented from the serializers that validate them: one declaration of each
# bound (page >= 1, page_size 1 to 100 ...) for the check and the schema.
FILTER_PARAMETERS = [FilterParams]


def _search_response(search, params: FilterParams, *, mode: str, **inputs) -> Response:
    """Run a search service with the validated filters, facets, sort and paging; log it."""
    data = params.validated_data
    started = time.perf_counter()
    page: SearchPage = search(
        filters=params.filters(),
        selection=params.selection(),
        sort=data["sort"],
        page=data["page"],
        page_size=data["page_size"],
        **inputs,
    )
    query_id = search_logged(
        mode=mode,
        query=inputs.get("query", ""),
        params=data,
        page=page,
        latency_ms=(time.perf_counter() - started) * 1000,
        session="",
    )
    return Response(SearchPageOutput(page, context={"query_id": str(query_id)}).data)


@method_decorator(replica_reads, name="dispatch")
class TextSearchApi(APIView):
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[TextSearchParams],
        responses=SearchPageOutput,
        description="Words in, real products out: CLIP vector and keyword rankings fused (RRF).",
    )
    def get(self, request):
        params = parse(TextSearchParams, request.query_params)
        query = params.validated_data["q"]
        return _search_response(products_search_text, params, mode="text", query=query)


class SuggestParams(serializers.Serializer):
    q = serializers.CharField(max_length=200, trim_whitespace=True, help_text="What is typed.")


class SuggestionOutput(serializers.Serializer):
    text = serializers.CharField(help_text="The query to search for.")
    kind = serializers.ChoiceField(
        choices=["query", "category", "brand", "word"],
        help_text="query: a popular past search; the others: a term of the catalog.",
    )
    hits = serializers.IntegerField(help_text="Shown products that carry the term.")


@method_decorator(replica_reads, name="dispatch")
class SuggestApi(APIView):
    throttle_classes = [SuggestThrottle]

    @extend_schema(
        parameters=[SuggestParams],
        responses=inline_serializer("Suggestions", {"suggestions": SuggestionOutput(many=True)}),
        description=f"Up to {MAX_SUGGESTIONS} suggestions as the shopper types: popular past "
        "searches that still find shown products, then terms of shown products (prefix and "
        "one-typo tolerant, at least 2 products each).",
    )
    def get(self, request):
        params = parse(SuggestParams, request.query_params)
        found = suggestions_for(params.validated_data["q"])
        return Response(
            {"suggestions": [{"text": s.text, "kind": s.kind, "hits": s.hits} for s in found]}
        )


@method_decorator(replica_reads, name="dispatch")
class PhotoSearchApi(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [PhotoSearchThrottle]

    @extend_schema(
        request=inline_serializer(
            "PhotoSearchRequest",
            {"image": serializers.ImageField(), "category": serializers.CharField(required=False)},
        ),
        parameters=FILTER_PARAMETERS,
        responses=SearchPageOutput,
        description="A JPEG, PNG or WebP photo in; products whose best image is nearest out.",
    )
    def post(self, request):
        data = read_upload(single_upload(request.FILES))
        # Filters may come in the query string or as form fields beside the image.
        filters_data = request.query_params.copy()
        filters_data.update(request.POST)
        params = parse(FilterParams, filters_data, extra_allowed={"image"})
        return _search_response(products_search_photo, params, mode="photo", image_data=data)


@method_decorator(replica_reads, name="dispatch")
class SimilarProductsApi(APIView):
    throttle_classes = [SearchThrottle]

    @extend_schema(parameters=FILTER_PARAMETERS, responses=SearchPageOutput)
    def get(self, request, pk: int):
        params = parse(FilterParams, request.query_params)
        return _search_response(products_similar, params, mode="similar", product_id=pk)


FACET_FIELDS = {"category": "category__slug", "brand": "brand", "color": "color", "size": "size"}
# Browsing has no query: "relevance" is the newest first.
BROWSE_ORDER = {
    "relevance": ("-created_at", "-id"),
    "newest": ("-created_at", "-id"),
    "price_asc": ("price", "id"),
    "price_desc": ("-price", "id"),
}


@method_decorator(replica_reads, name="dispatch")
class ProductListApi(APIView):
    throttle_classes = [SearchThrottle]

    @extend_schema(
        operation_id="v1_products_list",
        parameters=FILTER_PARAMETERS,
        responses=inline_serializer(
            "ProductPage",
            {
                "results": ProductOutput(many=True),
                "total": serializers.IntegerField(),
                "page": serializers.IntegerField(),
                "has_more": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request):
        params = parse(FilterParams, request.query_params)
        page, size = params.validated_data["page"], params.validated_data["page_size"]
        products = products_for_storefront().filter(pk__in=params.filters().products())
        for facet, values in params.selection().values.items():
            products = products.filter(**{f"{FACET_FIELDS[facet]}__in": values})
        products = products.order_by(*BROWSE_ORDER[params.validated_data["sort"]])
        total = products.count()
        if page > 1 and (page - 1) * size >= total:
            raise Http404(f"Page {page} is beyond the last page ({max(1, -(-total // size))}).")
        shown = products[(page - 1) * size : page * size]
        return Response(
            {
                "results": ProductOutput(shown, many=True).data,
                "total": total,
                "page": page,
                "has_more": page * size < total,
            }
        )


@method_decorator(replica_reads, name="dispatch")
class ProductDetailApi(APIView):
    throttle_classes = [SearchThrottle]

    @extend_schema(responses=ProductOutput)
    def get(self, request, pk: int):
        reject_unexpected(request.query_params.keys(), allowed=set())
        return Response(ProductOutput(products_for_storefront().get(pk=pk)).data)
