"""The keyword half of text search: PostgreSQL full-text search with typo correction.

Query words are corrected to the nearest word of the catalog's vocabulary (Levenshtein distance
on hyphen-free forms, so "tshrit" finds "t-shirt"), but only within a small edit budget: a
nonsense word stays as typed and matches nothing.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, F, FloatField, Q, Value, When

from catalog.models import ProductQuerySet

# Keyword matches kept per query (ranked by ts_rank); beyond this the vector half still ranks.
KEYWORD_LIMIT = 500
_WORD = re.compile(r"[\w-]+")


def _edit_budget(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) <= 5 else 2


def correct_spelling(query: str) -> list[str]:
    """The query's words, each replaced by the catalog word it most likely means."""
    words = [w.lower() for w in _WORD.findall(query)]
    corrected = []
    with connection.cursor() as cursor:
        for word in words:
            compact = word.replace("-", "")
            budget = _edit_budget(compact)
            cursor.execute(
                "SELECT word FROM retrieval_search_lexicon "
                "WHERE levenshtein_less_equal(compact, %s, %s) <= %s "
                "ORDER BY levenshtein(compact, %s), similarity(compact, %s) DESC, word LIMIT 1",
                [compact, budget, budget, compact, compact],
            )
            row = cursor.fetchone()
            # No catalog word within the budget: keep the word as typed; if it is nonsense,
            # full-text search simply finds nothing for it.
            corrected.append(row[0] if row else word)
    return corrected


def keyword_ranking(query: str, products: ProductQuerySet) -> list[int]:
    """Ids of `products` matching `query` by words, SKU or category, best first."""
    words = correct_spelling(query)
    exact_sku = Q(sku__iexact=query.strip()) if query.strip() else Q(pk__in=[])
    if not words:
        matches = products.filter(exact_sku)
        return list(matches.order_by("pk").values_list("pk", flat=True)[:KEYWORD_LIMIT])
    search = SearchQuery(words[0], config="english")
    for word in words[1:]:
        search |= SearchQuery(word, config="english")  # any word: ts_rank orders by how many
    category_hit = Q(category__name__search=" ".join(words)) | Q(category__slug__in=words)
    matches = (
        products.filter(Q(search_document=search) | category_hit | exact_sku)
        .annotate(
            rank=SearchRank(F("search_document"), search)
            # An exact SKU is the strongest keyword signal there is.
            + _when(Q(sku__iexact=query.strip()), 10.0)
            + _when(category_hit, 0.1)
        )
        .order_by("-rank", "pk")
    )
    return list(matches.values_list("pk", flat=True)[:KEYWORD_LIMIT])


def _when(condition: Q, score: float) -> Case:
    return Case(When(condition, then=Value(score)), default=Value(0.0), output_field=FloatField())


def lexicon_refresh() -> None:
    """Rebuild the vocabulary used for typo correction (after imports and indexing)."""
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY retrieval_search_lexicon")
