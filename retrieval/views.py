"""Storefront search pages: the same services and validation as the JSON API."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import APIException

from analytics.events import result_logged, search_logged
from analytics.sessions import search_session, with_search_session
from catalog.images import read_upload, single_upload
from catalog.selectors import products_for_storefront, products_searchable
from config.replicas import replica_reads
from retrieval.filters import SearchFilters
from retrieval.params import FilterParams, TextSearchParams, parse
from retrieval.results import SORTS
from retrieval.search import (
    PageOutOfRange,
    products_search_photo,
    products_search_text,
    products_similar,
)

SIMILAR_SHOWN = 8
FACET_LEGENDS = {"category": "Category", "brand": "Brand", "color": "Colour", "size": "Size"}


def _error_message(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return " ".join(err.messages)
    detail = err.detail if isinstance(err, APIException) else str(err)
    if isinstance(detail, dict):
        return " ".join(str(m) for msgs in detail.values() for m in _as_list(msgs))
    return " ".join(str(m) for m in _as_list(detail))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _render_results(request, *, mode: str, run, query: str = ""):
    """Render run() -> (validated parameters, SearchPage); its errors become the message."""
    context = {"mode": mode, "query": query, "params": {}, "query_string": request.GET.copy()}
    started = time.perf_counter()
    try:
        context["params"], context["results"] = run()
    except PageOutOfRange as err:
        context["error"] = str(err)
        return render(request, "storefront/search.html", context, status=404)
    except (ValidationError, APIException) as err:
        context["error"] = _error_message(err)
        status = getattr(err, "status_code", 400)
        return render(request, "storefront/search.html", context, status=status)
    facets = context["results"].facets
    context["facet_groups"] = [
        (facet, legend, facets[facet]) for facet, legend in FACET_LEGENDS.items()
    ]
    context["sorts"] = SORTS.items()
    session = search_session(request)
    context["query_id"] = search_logged(
        mode=mode,
        query=query,
        params=context["params"],
        page=context["results"],
        latency_ms=(time.perf_counter() - started) * 1000,
        session=session,
    )
    response = render(request, "storefront/search.html", context)
    return with_search_session(response, session)


@require_GET
def result_click(request, query_id, pk: int):
    """A result opened from a search page: logged with its position, then the product."""
    product = products_searchable().filter(pk=pk).only("id", "slug", "merchant_id").first()
    if product is None:
        raise Http404("No such product.")
    try:
        position = max(1, min(int(request.GET.get("position", "1")), 10_000))
    except ValueError:
        position = 1
    result_logged(search_id=query_id, product=product, position=position, kind="click")
    return redirect("storefront:product", pk=product.pk, slug=product.slug)


@replica_reads
@require_GET
def search_text(request):
    def run():
        params = parse(TextSearchParams, request.GET)
        data = params.validated_data
        page = products_search_text(
            query=data["q"],
            filters=params.filters(),
            selection=params.selection(),
            sort=data["sort"],
            page=data["page"],
            page_size=data["page_size"],
        )
        return data, page

    return _render_results(request, mode="text", run=run, query=request.GET.get("q", "").strip())


@replica_reads
@require_POST
def search_photo(request):
    def run():
        data = read_upload(single_upload(request.FILES))
        params = parse(FilterParams, request.POST, extra_allowed={"csrfmiddlewaretoken"})
        page = products_search_photo(
            image_data=data,
            filters=params.filters(),
            selection=params.selection(),
            sort=params.validated_data["sort"],
            page_size=48,
        )
        return params.validated_data, page

    return _render_results(request, mode="photo", run=run)


@replica_reads
@require_GET
def product_detail(request, pk: int, slug: str):
    product = products_for_storefront().filter(pk=pk).first()
    if product is None:
        raise Http404("No such product.")
    similar = products_similar(product_id=pk, filters=SearchFilters(), page_size=SIMILAR_SHOWN)
    return render(
        request, "storefront/product_detail.html", {"product": product, "similar": similar.hits}
    )
