"""The keyword half of text search: PostgreSQL full-text search with typo correction.

Query words are corrected to the nearest word of the catalog's vocabulary (Levenshtein distance
on hyphen-free forms, so "tshrit" finds "t-shirt"), but only within a small edit budget: a
nonsense word stays as typed and matches nothing.
"""

from __future__ import annotations

import re

from django.db import connection

from config.replicas import read_connection
from retrieval.filters import SearchFilters

# Keyword matches kept per query (ranked by ts_rank), twice the vector half's candidates.
KEYWORD_LIMIT = 200
# Matches read for ranking: ranking every row of a word that 20% of a 100k catalog contains
# took 176 ms; reading 1,000 took 13-15 ms, 300 took 7 ms (bench/search.py).
KEYWORD_SCAN_LIMIT = 300
_WORD = re.compile(r"[\w-]+")

# For each word, the nearest catalog word within its edit budget, in one statement: the trigram
# operator `%` (threshold in retrieval/session.py) lets the GIN index find candidates before
# Levenshtein ranks them.
_SPELLING_SQL = """
SELECT typed.position, nearest.word
FROM unnest(%(words)s::text[], %(budgets)s::int[]) WITH ORDINALITY AS typed(word, budget, position)
CROSS JOIN LATERAL (
  (SELECT lexicon.word FROM retrieval_search_lexicon AS lexicon WHERE lexicon.compact = typed.word)
  UNION ALL (
    SELECT lexicon.word FROM retrieval_search_lexicon AS lexicon
    WHERE lexicon.compact %% typed.word
      AND levenshtein_less_equal(lexicon.compact, typed.word, typed.budget) <= typed.budget
    ORDER BY levenshtein(lexicon.compact, typed.word), similarity(lexicon.compact, typed.word) DESC,
      lexicon.word
  )
  LIMIT 1
) AS nearest
"""

# Written in SQL like the vector half (retrieval/vector.py): the ORM's build and compile cost
# more than PostgreSQL's work. `{products}` is the strict-fidelity rule with the filters.
_SKU_SQL = "SELECT id FROM catalog_product WHERE upper(sku) = %s AND id IN ({products}) ORDER BY id"
_CATEGORIES_SQL = (
    "SELECT id FROM catalog_category WHERE slug = ANY(%s) OR to_tsvector('english', name) @@ {any}"
)
# No ORDER BY: the database stops after KEYWORD_SCAN_LIMIT matches (GIN index scan) instead
# of ranking and sorting every match; the few hundred rows are sorted here.
_MATCHES_SQL = """
SELECT id, ts_rank(search_document, {any}) + CASE WHEN category_id = ANY(%s) THEN 0.1 ELSE 0 END
FROM catalog_product
WHERE id IN ({products}) AND {condition}
LIMIT %s
"""


def _edit_budget(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) <= 5 else 2


def correct_spelling(query: str) -> list[str]:
    """The query's words, each replaced by the catalog word it most likely means."""
    words = [word.lower() for word in _WORD.findall(query)]
    looked_up = []  # (index, hyphen-free form, edit budget) of each word to look up
    for i, word in enumerate(words):
        compact = word.replace("-", "")
        budget = _edit_budget(compact)
        # Short words and words with digits (sizes, SKUs) are taken as typed.
        if budget and not any(ch.isdigit() for ch in word):
            looked_up.append((i, compact, budget))
    if not looked_up:
        return words
    with read_connection().cursor() as cursor:
        cursor.execute(
            _SPELLING_SQL,
            {
                "words": [compact for _, compact, _ in looked_up],
                "budgets": [budget for _, _, budget in looked_up],
            },
        )
        nearest = dict(cursor.fetchall())
    # No catalog word within the budget: the word stays as typed; if it is nonsense,
    # full-text search simply finds nothing for it.
    corrected = list(words)
    for position, (i, _, _) in enumerate(looked_up, start=1):
        corrected[i] = nearest.get(position, words[i])
    return corrected


def keyword_ranking(query: str, filters: SearchFilters) -> list[int]:
    """Ids of searchable products matching `query` by words, SKU or category, best first.

    Products matching every word come first; products matching some words follow when there
    are fewer than KEYWORD_LIMIT of the former.
    """
    products, product_params = filters.products_sql()
    # An exact SKU is the strongest keyword signal there is: it ranks first. A SKU is one
    # token, so a query of several words skips the lookup (served by product_sku_upper).
    token = query.strip().upper()
    ranked = (
        _ids(_SKU_SQL.format(products=products), [token, *product_params])
        if token and not any(ch.isspace() for ch in token)
        else []
    )
    words = correct_spelling(query)
    if not words:
        return ranked
    all_words, all_params = _tsquery(words, "&&")
    any_word, any_params = _tsquery(words, "||")
    categories = _ids(_CATEGORIES_SQL.format(any=any_word), [words, *any_params])
    for condition, condition_params in (
        (f"search_document @@ {all_words}", all_params),
        (f"(search_document @@ {any_word} OR category_id = ANY(%s))", [*any_params, categories]),
    ):
        if len(ranked) >= KEYWORD_LIMIT:
            break
        sql = _MATCHES_SQL.format(any=any_word, products=products, condition=condition)
        params = [*any_params, categories, *product_params, *condition_params, KEYWORD_SCAN_LIMIT]
        with read_connection().cursor() as cursor:
            cursor.execute(sql, params)
            rows = sorted(cursor.fetchall(), key=lambda row: (-row[1], row[0]))
        seen = set(ranked)
        ranked += [pk for pk, _ in rows[:KEYWORD_LIMIT] if pk not in seen]
    return ranked[:KEYWORD_LIMIT]


def _tsquery(words: list[str], operator: str) -> tuple[str, list[str]]:
    """Each word as an English full-text query, joined by AND (&&) or OR (||)."""
    sql = f" {operator} ".join(["plainto_tsquery('english', %s)"] * len(words))
    return f"({sql})", list(words)


def _ids(sql: str, params: list) -> list[int]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def lexicon_refresh() -> None:
    """Rebuild the vocabulary used for typo correction (after imports and indexing)."""
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY retrieval_search_lexicon")
