"""The keyword half of text search: PostgreSQL full-text search with typo correction.

Query words are corrected to the nearest word of the catalog's vocabulary (Levenshtein distance
on hyphen-free forms, so "tshrit" finds "t-shirt"), but only within a small edit budget: a
nonsense word stays as typed and matches nothing.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.functions import Upper

from catalog.models import Category, ProductQuerySet

# Keyword matches kept per query (ranked by ts_rank), twice the vector half's candidates.
KEYWORD_LIMIT = 200
# Matches read for ranking: ranking every row of a word that 20% of a 100k catalog contains
# took 176 ms; reading 1,000 took 13-15 ms, 300 took 7 ms (bench/search.py).
KEYWORD_SCAN_LIMIT = 300
# Trigram prefilter for typo candidates: "tshrit" vs "tshirt" is 0.27.
TRIGRAM_THRESHOLD = 0.2
_WORD = re.compile(r"[\w-]+")


def _edit_budget(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) <= 5 else 2


def correct_spelling(query: str) -> list[str]:
    """The query's words, each replaced by the catalog word it most likely means."""
    corrected = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL pg_trgm.similarity_threshold = {TRIGRAM_THRESHOLD}")
        for word in (w.lower() for w in _WORD.findall(query)):
            compact = word.replace("-", "")
            budget = _edit_budget(compact)
            if budget == 0 or any(ch.isdigit() for ch in word):
                corrected.append(word)
                continue
            cursor.execute(
                "SELECT word FROM retrieval_search_lexicon WHERE compact = %s "
                "UNION ALL (SELECT word FROM retrieval_search_lexicon "
                "  WHERE compact %% %s AND levenshtein_less_equal(compact, %s, %s) <= %s "
                "  ORDER BY levenshtein(compact, %s), similarity(compact, %s) DESC, word) "
                "LIMIT 1",
                [compact, compact, compact, budget, budget, compact, compact],
            )
            row = cursor.fetchone()
            # No catalog word within the budget: keep the word as typed; if it is nonsense,
            # full-text search simply finds nothing for it.
            corrected.append(row[0] if row else word)
    return corrected


def keyword_ranking(query: str, products: ProductQuerySet) -> list[int]:
    """Ids of `products` matching `query` by words, SKU or category, best first.

    Products matching every word come first; products matching some words follow when there
    are fewer than KEYWORD_LIMIT of the former.
    """
    # An exact SKU is the strongest keyword signal there is: it ranks first. A SKU is one
    # token, so a query of several words skips the lookup.
    token = query.strip().upper()
    ranked = (
        list(
            products.annotate(sku_upper=Upper("sku"))  # served by the product_sku_upper index
            .filter(sku_upper=token)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if token and not any(ch.isspace() for ch in token)
        else []
    )
    words = correct_spelling(query)
    if not words:
        return ranked
    all_words = _search_query(words, "&")
    any_word = _search_query(words, "|")
    categories = list(
        Category.objects.filter(Q(slug__in=words) | Q(name__search=any_word)).values_list(
            "pk", flat=True
        )
    )
    for matches in (
        products.filter(search_document=all_words),
        products.filter(Q(search_document=any_word) | Q(category_id__in=categories)),
    ):
        if len(ranked) >= KEYWORD_LIMIT:
            break
        seen = set(ranked)
        ranked += [pid for pid in _ranked(matches, any_word, categories) if pid not in seen]
    return ranked[:KEYWORD_LIMIT]


def _search_query(words: list[str], operator: str) -> SearchQuery:
    search = SearchQuery(words[0], config="english")
    for word in words[1:]:
        search = (
            search & SearchQuery(word, config="english")
            if operator == "&"
            else (search | SearchQuery(word, config="english"))
        )
    return search


def _ranked(matches: ProductQuerySet, search: SearchQuery, categories: list[int]) -> list[int]:
    # No ORDER BY in SQL: the database stops after KEYWORD_SCAN_LIMIT matches (GIN index scan)
    # instead of ranking and sorting every match; the few thousand rows are sorted here.
    rows = list(
        matches.order_by()
        .annotate(
            rank=SearchRank(F("search_document"), search)
            + _when(Q(category_id__in=categories), 0.1)
        )
        .values_list("pk", "rank")[:KEYWORD_SCAN_LIMIT]
    )
    rows.sort(key=lambda row: (-row[1], row[0]))
    return [pk for pk, _ in rows[:KEYWORD_LIMIT]]


def _when(condition: Q, score: float) -> Case:
    return Case(When(condition, then=Value(score)), default=Value(0.0), output_field=FloatField())


def lexicon_refresh() -> None:
    """Rebuild the vocabulary used for typo correction (after imports and indexing)."""
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY retrieval_search_lexicon")
