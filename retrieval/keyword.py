"""The keyword half of text search: PostgreSQL full-text search with typo correction.

A product matches when it matches *every* word of the query: in its full-text document, by its
category's name, or through one of its merchant's synonyms. Products matching only some words
are not matches; zero-result recovery (retrieval/recovery.py) offers a relaxed query instead.

Query words are corrected to the nearest word of the catalog's vocabulary (Levenshtein distance
on hyphen-free forms, so "tshrit" finds "t-shirt"), but only within a small edit budget: a
nonsense word stays as typed and matches nothing.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from config.replicas import read_connection
from retrieval.filters import SearchFilters
from retrieval.results import match_rows_around
from retrieval.synonyms import synonym_spans

# Keyword matches kept per query (ranked by ts_rank), twice the vector half's candidates.
KEYWORD_LIMIT = 200
# Matches read for ranking: ranking every row of a word that 20% of a 100k catalog contains
# took 176 ms; reading 1,000 took 13-15 ms, 300 took 7 ms (bench/search.py).
KEYWORD_SCAN_LIMIT = 300
_WORD = re.compile(r"[\w-]+")

# For each word: the nearest catalog word within its edit budget (a budget below 0: taken as
# typed), whether full-text search ignores it (a stop word), and the categories it names, in one
# statement. The trigram operator `%` (threshold in retrieval/session.py) lets the GIN index
# find spelling candidates before Levenshtein ranks them.
_WORDS_SQL = """
SELECT typed.position, nearest.word,
  numnode(plainto_tsquery('english', coalesce(nearest.word, typed.word))) = 0,
  ARRAY(
    SELECT category.id FROM catalog_category AS category
    WHERE category.slug = coalesce(nearest.word, typed.word)
      OR to_tsvector('english', category.name)
         @@ plainto_tsquery('english', coalesce(nearest.word, typed.word))
  )
FROM unnest(%(words)s::text[], %(compacts)s::text[], %(budgets)s::int[])
  WITH ORDINALITY AS typed(word, compact, budget, position)
LEFT JOIN LATERAL (
  (SELECT lexicon.word FROM retrieval_search_lexicon AS lexicon
   WHERE typed.budget >= 0 AND lexicon.compact = typed.compact)
  UNION ALL (
    SELECT lexicon.word FROM retrieval_search_lexicon AS lexicon
    WHERE typed.budget > 0 AND lexicon.compact %% typed.compact
      AND levenshtein_less_equal(lexicon.compact, typed.compact, typed.budget) <= typed.budget
    ORDER BY levenshtein(lexicon.compact, typed.compact),
      similarity(lexicon.compact, typed.compact) DESC, lexicon.word
  )
  LIMIT 1
) AS nearest ON true
ORDER BY typed.position
"""

# Written in SQL like the vector half (retrieval/vector.py): the ORM's build and compile cost
# more than PostgreSQL's work. `{products}` is the strict-fidelity rule with the filters.
_SKU_SQL = "SELECT id FROM catalog_product WHERE upper(sku) = %s AND id IN ({products}) ORDER BY id"
# A match's score, in every shape of the statement: how well its text matches any of the
# query's words, and a little more for a product in a category a word names.
_SCORE = "ts_rank(search_document, {any}) + CASE WHEN category_id = ANY(%s) THEN 0.1 ELSE 0 END"
# No ORDER BY: the database stops after KEYWORD_SCAN_LIMIT matches (GIN index scan) instead
# of ranking and sorting every match; the few hundred rows are sorted here.
_MATCHES_SQL = f"""
SELECT id, {_SCORE}
FROM catalog_product
WHERE {{every}} AND id IN ({{products}})
LIMIT %s
"""
# A slot that may also match by category or synonym is an OR, which the GIN index cannot serve
# alone; the planner then ORed a GIN bitmap with the category's B-tree bitmap, both covering
# every match before the LIMIT could stop anything (at 1,000,000 products, bench/search.py):
# - With a slot of words only in the query, its words drive the GIN index and the ORs are
#   checked on the rows it finds: `IS TRUE` keeps the planner from serving them by index
#   ("wool hat" 16 -> 11 ms).
# - With none ("hat"), the statement is a UNION ALL of branches, one for each way to meet
#   every slot (the words; the category), sharing the LIMIT: a category-only branch is a B-tree
#   scan that stops at its LIMIT ("hat" 18 -> 3 ms), and a category's products find their place
#   beside a flood of word matches.
_MATCHES_UNION_SQL = f"""
SELECT DISTINCT ON (id) id, {_SCORE}
FROM ({{branches}}) AS matched
"""
_BRANCH_SQL = """(SELECT id, search_document, category_id FROM catalog_product
  WHERE {every} AND id IN ({products}) LIMIT %s)"""
# Each branch is a scan of its own: a query with more ways to meet its slots than this (several
# slots, each with a category or synonyms, and no slot of words only) is one statement of ORs
# ("long sleeve", both words naming one category: 4 branches 23 ms, one OR 17).
MAX_BRANCHES = 3
_MATCHES_FENCED_SQL = f"""
SELECT id, {_SCORE}
FROM (SELECT id, search_document, category_id FROM catalog_product WHERE {{every}} OFFSET 0)
  AS matched
WHERE id IN ({{products}})
LIMIT %s
"""
_WORDS_CONDITION = "search_document @@ plainto_tsquery('english', %s)"
_SYNONYM_CONDITION = f"(merchant_id = ANY(%s) AND {_WORDS_CONDITION})"
_CATEGORY_CONDITION = "category_id = ANY(%s)"


@dataclass(frozen=True)
class Alternative:
    """Another way to say a slot, valid for some merchants' products only (a synonym)."""

    text: str
    merchant_ids: tuple[int, ...]


@dataclass(frozen=True)
class Slot:
    """A word of the query (or a phrase a synonym names) that every match must carry."""

    text: str
    category_ids: tuple[int, ...] = ()
    alternatives: tuple[Alternative, ...] = ()


@dataclass(frozen=True)
class KeywordQuery:
    typed: tuple[str, ...]  # the query's words as typed, lowercased
    words: tuple[str, ...]  # each corrected to the catalog word it most likely means
    slots: tuple[Slot, ...] = field(default=())  # what a match must carry, stop words left out
    unknown: tuple[str, ...] = ()  # words the catalog's vocabulary has nothing near

    @property
    def corrected(self) -> bool:
        return self.words != self.typed

    @property
    def text(self) -> str:
        return " ".join(self.words)


def query_words(query: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(query)]


def _edit_budget(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) <= 5 else 2


def analyse_query(query: str, *, extra_edits: int = 0, synonyms: bool = True) -> KeywordQuery:
    """The query's words, corrected, with the categories and synonyms each brings.

    `extra_edits` widens every edit budget (the "did you mean" suggestion). A word that is a
    merchant's synonym term is taken as typed: "jeans" is not corrected to a catalog word.
    """
    typed = query_words(query)
    if not typed:
        return KeywordQuery((), ())
    spans = synonym_spans(typed) if synonyms and settings.FIDELIS_SYNONYMS else []
    in_spans = {i for span in spans for i in range(span.start, span.end)}
    compacts = [word.replace("-", "") for word in typed]
    budgets = []
    for i, (word, compact) in enumerate(zip(typed, compacts, strict=True)):
        # Short words and words with digits (sizes, SKUs) are taken as typed.
        budget = _edit_budget(compact)
        if i in in_spans or any(ch.isdigit() for ch in word):
            budget = -1
        elif budget or extra_edits:
            budget += extra_edits
        budgets.append(budget)
    with read_connection().cursor() as cursor:
        cursor.execute(_WORDS_SQL, {"words": typed, "compacts": compacts, "budgets": budgets})
        rows = cursor.fetchall()
    words: list[str] = []
    slots: list[Slot | None] = []  # one per word; None for a stop word
    unknown: list[str] = []
    for (i, (_, nearest, stop, category_ids)), word in zip(enumerate(rows), typed, strict=True):
        # No catalog word within the budget: the word stays as typed; if it is nonsense,
        # full-text search simply finds nothing for it.
        if nearest is None and budgets[i] >= 0 and not stop:
            unknown.append(word)
        word = nearest or word
        words.append(word)
        slots.append(None if stop else Slot(word, tuple(category_ids)))
    for span in reversed(spans):  # a synonym term is one slot, whatever its length
        covered = [slot for slot in slots[span.start : span.end] if slot]
        categories = tuple(sorted({pk for slot in covered for pk in slot.category_ids}))
        alternatives = tuple(Alternative(text, ids) for text, ids in span.alternatives.items())
        slots[span.start : span.end] = [Slot(span.term, categories, alternatives)]
    kept = tuple(slot for slot in slots if slot)
    return KeywordQuery(tuple(typed), tuple(words), kept, tuple(unknown))


def correct_spelling(query: str) -> list[str]:
    """The query's words, each replaced by the catalog word it most likely means."""
    return list(analyse_query(query).words)


@dataclass(frozen=True)
class KeywordMatches:
    ids: list[int]  # best first
    # What arranging reads of the word matches (results.match_rows), read with them.
    rows: dict[int, tuple]


def keyword_matches(
    query: str, filters: SearchFilters, *, analysed: KeywordQuery | None = None
) -> KeywordMatches:
    """Searchable products matching `query` by SKU or by every word, best first."""
    products, product_params = filters.products_sql()
    # An exact SKU is the strongest keyword signal there is: it ranks first. A SKU is one
    # token, so a query of several words skips the lookup (served by product_sku_upper).
    token = query.strip().upper()
    ranked = (
        _ids(_SKU_SQL.format(products=products), [token, *product_params])
        if token and not any(ch.isspace() for ch in token)
        else []
    )
    analysed = analysed or analyse_query(query)
    if not analysed.slots:
        return KeywordMatches(ranked, {})
    found = slot_match_rows(analysed.slots, filters)
    return KeywordMatches(ranked + [pk for pk in found.ids if pk not in ranked], found.rows)


def slot_matches(slots: tuple[Slot, ...], filters: SearchFilters) -> list[int]:
    """Products carrying every slot (by words, category or synonym), best first."""
    return [row[1] for row in _slot_matches(slots, filters, with_rows=False)]


def slot_match_rows(slots: tuple[Slot, ...], filters: SearchFilters) -> KeywordMatches:
    """slot_matches(), with what arranging reads of each match, in the same statement."""
    found = _slot_matches(slots, filters, with_rows=True)
    return KeywordMatches([row[1] for row in found], {row[1]: row[1:] for row in found})


def _slot_matches(slots: tuple[Slot, ...], filters: SearchFilters, *, with_rows: bool):
    """The best KEYWORD_LIMIT (score, id) rows of slot_matches(), or (score, *match row)."""
    sql, params = _matches_statement(slots, filters)
    with read_connection().cursor() as cursor:
        cursor.execute(match_rows_around(sql) if with_rows else sql, params)
        rows = cursor.fetchall() if with_rows else [(score, pk) for pk, score in cursor]
    rows.sort(key=lambda row: (-row[0], row[1]))
    return rows[:KEYWORD_LIMIT]


def _matches_statement(slots: tuple[Slot, ...], filters: SearchFilters) -> tuple[str, list]:
    """(id, score) rows of up to KEYWORD_SCAN_LIMIT matches of every slot, shared evenly by
    the statement's branches."""
    products, product_params = filters.products_sql()
    any_word = "(" + " || ".join(["plainto_tsquery('english', %s)"] * len(slots)) + ")"
    category_ids = sorted({pk for slot in slots for pk in slot.category_ids})
    params = [*[slot.text for slot in slots], category_ids]
    words_only = [slot for slot in slots if not (slot.category_ids or slot.alternatives)]
    branches = [] if words_only else _branches(slots, most=MAX_BRANCHES + 1)
    if words_only or len(branches) > MAX_BRANCHES:
        # Words of their own drive the scan, the ORs checked on their rows; with none, the ORs
        # are fenced (OFFSET 0): the matches then come from a bitmap of the ORs first and the
        # strict-fidelity rule checks only those, instead of the planner walking the primary
        # key filtering row by row (7.9 ms for "slim trousers" at 100,000 products; 3.6).
        with_ors = len(words_only) < len(slots)
        template = _MATCHES_FENCED_SQL if with_ors else _MATCHES_SQL
        every, every_params = _joined(
            [_slot_condition(slot, indexed=not words_only) for slot in slots], " AND "
        )
        sql = template.format(any=any_word, products=products, every=every)
        return sql, [*params, *every_params, *product_params, KEYWORD_SCAN_LIMIT]
    parts = []
    for every, every_params in branches:
        parts.append(_BRANCH_SQL.format(every=every, products=products))
        params += [*every_params, *product_params, KEYWORD_SCAN_LIMIT // len(branches)]
    sql = _MATCHES_UNION_SQL.format(any=any_word, branches=" UNION ALL ".join(parts))
    return sql, params


def _branches(slots: tuple[Slot, ...], *, most: int) -> list[tuple[str, list]]:
    """Each way to meet every slot (one of each slot's words, synonyms or category), as SQL;
    at most `most` of them: the ways multiply with the slots (a query of 30 category words has
    2**30), so they are listed only as far as a caller may use them."""
    options = []
    for slot in slots:
        ways: list = _text_ways(slot)
        if slot.category_ids:
            ways.append(frozenset(slot.category_ids))  # merged with the branch's others below
        options.append(ways)
    branches = []
    for ways in itertools.product(*options):
        conditions = [way for way in ways if isinstance(way, tuple)]
        category_sets = [way for way in ways if isinstance(way, frozenset)]
        if category_sets:
            categories = frozenset.intersection(*category_sets)
            if not categories:  # a product has one category: no product meets this branch
                continue
            # Where words drive the GIN index, the category is checked on the rows they find.
            category = f"({_CATEGORY_CONDITION}) IS TRUE" if conditions else _CATEGORY_CONDITION
            conditions.append((category, [sorted(categories)]))
        branches.append(_joined(conditions, " AND "))
        if len(branches) == most:
            break
    return branches


def _text_ways(slot: Slot) -> list[tuple[str, list]]:
    """The slot's words, and each merchant's synonym for them, as SQL conditions."""
    return [(_WORDS_CONDITION, [slot.text])] + [
        (_SYNONYM_CONDITION, [list(alternative.merchant_ids), alternative.text])
        for alternative in slot.alternatives
    ]


def _joined(conditions: list[tuple[str, list]], operator: str) -> tuple[str, list]:
    """(sql, params) conditions joined by `operator`, their params in order."""
    return (
        operator.join(sql for sql, _ in conditions),
        [param for _, params in conditions for param in params],
    )


def _slot_condition(slot: Slot, *, indexed: bool = True) -> tuple[str, list]:
    """The slot's words, synonyms and category as one OR; `indexed=False` keeps the planner
    from serving it by an index, so other conditions drive the scan."""
    ways = _text_ways(slot)
    if slot.category_ids:
        ways.append((_CATEGORY_CONDITION, [list(slot.category_ids)]))
    if len(ways) == 1:
        return ways[0]
    either, params = _joined(ways, " OR ")
    return (f"({either})" if indexed else f"({either}) IS TRUE"), params


def slot_counts(slots: tuple[Slot, ...], filters: SearchFilters, *, cap: int) -> list[int]:
    """How many searchable products carry each slot, each counted up to `cap`, in one
    statement."""
    products, product_params = filters.products_sql()
    counts, params = [], []
    for slot in slots:
        condition, condition_params = _slot_condition(slot)
        counts.append(
            f"(SELECT count(*) FROM (SELECT 1 FROM catalog_product WHERE id IN ({products}) "
            f"AND {condition} LIMIT %s) AS carried)"
        )
        params += [*product_params, *condition_params, cap]
    with read_connection().cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(counts)}", params)
        return list(cursor.fetchone())


def _ids(sql: str, params: list) -> list[int]:
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def lexicon_refresh() -> None:
    """Rebuild the vocabulary used for typo correction and the terms suggested as a shopper
    types (after imports and indexing)."""
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY retrieval_search_lexicon")
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY retrieval_suggestion_term")
