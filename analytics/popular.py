"""Popular past queries, suggested as a shopper types beside the catalog's own terms.

A text query qualifies when, in the last WINDOW_DAYS, at least FIDELIS_POPULAR_QUERY_SEARCHERS
distinct visits searched it and found something, and, at the rebuild, it still finds shown
products by every word as typed (no word respelled, none unknown). That last rule keeps strict
fidelity (a query whose products were all hidden since is dropped at the next rebuild, which
follows every visibility change) and keeps shoppers' own words private: only words the catalog
itself carries can ever be shown to someone else.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from analytics.models import PopularQuery, SearchEvent
from retrieval.filters import SearchFilters
from retrieval.keyword import analyse_query, slot_matches
from retrieval.rules import normalised_query

WINDOW_DAYS = 30
MOST_CANDIDATES = 2_000  # the most searched first; each costs one keyword statement


def popular_queries_refresh(*, now=None) -> int:
    """Rebuild the popular-query table; how many queries it now holds."""
    since = (now or timezone.now()) - timedelta(days=WINDOW_DAYS)
    candidates = (
        SearchEvent.objects.filter(
            mode=SearchEvent.Mode.TEXT, page=1, results__gt=0, created_at__gte=since
        )
        .exclude(query="")
        .exclude(session="")
        .values("query")
        .annotate(searchers=Count("session", distinct=True))
        .filter(searchers__gte=settings.FIDELIS_POPULAR_QUERY_SEARCHERS)
        .order_by("-searchers", "query")[:MOST_CANDIDATES]
    )
    # Stored as the suggester reads what is typed (words only), so "t-shirt, red" completes
    # "t-shirt red"; spellings that meet there add up (a visit may count twice: rare, harmless).
    searchers: dict[str, int] = {}
    for row in candidates:
        query = normalised_query(row["query"])
        searchers[query] = searchers.get(query, 0) + row["searchers"]
    kept = []
    for query, count in searchers.items():
        hits = _shown_matches(query)  # 0 for a query of no words too
        if hits:
            kept.append(PopularQuery(query=query, searchers=count, hits=hits))
    with transaction.atomic():
        PopularQuery.objects.all().delete()
        PopularQuery.objects.bulk_create(kept)
    return len(kept)


def _shown_matches(query: str) -> int:
    """How many shown products carry every word of `query` as typed (0: not suggestible)."""
    analysed = analyse_query(query)
    if not analysed.slots or analysed.corrected or analysed.unknown:
        return 0
    return len(slot_matches(analysed.slots, SearchFilters()))
