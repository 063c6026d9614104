"""Zero-result recovery: when nothing matches, say so, and offer the next best things.

In order, each labelled where it is shown:
1. "did you mean": the query spelled with a wider edit budget, offered as a link when that
   spelling has matches;
2. a relaxed query: the least informative words dropped (first words no product carries, then
   the commonest), its matches shown as matches *of the relaxed query*;
3. "you might like": in-stock products of the category nearest to the query, never counted or
   presented as matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from config.replicas import read_connection
from retrieval.encoders import ClipEncoder
from retrieval.filters import SearchFilters
from retrieval.keyword import (
    KeywordQuery,
    Slot,
    analyse_query,
    slot_counts,
    slot_match_rows,
    slot_matches,
)
from retrieval.vector import product_vector_ranking

YOU_MIGHT_LIKE = 8
# Relaxing tries at most this many words: each try is one keyword statement.
MOST_WORDS_RELAXED = 8
# Products counted per word to choose which to drop: beyond this a word is simply common. Each
# counted product costs a strict-fidelity check: for three words at 100,000 products, counting
# took 8.2 ms at 300, 5.0 ms at 100 (bench/search.py's zero-result queries).
COMMON_WORD_PRODUCTS = 100


@dataclass(frozen=True)
class Recovery:
    did_you_mean: str | None = None
    relaxed_query: str | None = None
    dropped_words: tuple[str, ...] = ()
    you_might_like: tuple[int, ...] = ()  # product ids, nearest first


@dataclass(frozen=True)
class Relaxed:
    query: str
    dropped: tuple[str, ...]
    product_ids: list[int]
    rows: dict[int, tuple]  # what arranging reads of each match (results.match_rows)


def did_you_mean(query: str, analysed: KeywordQuery, filters: SearchFilters) -> str | None:
    """The query respelled with one more edit per word, if that spelling matches something.

    Only a word the vocabulary has nothing near can be respelled: when every word is a
    catalog word, a wider budget finds the same words again and nothing is looked up.
    """
    if not analysed.unknown:
        return None
    wider = analyse_query(query, extra_edits=1)
    if not wider.slots or wider.words == analysed.words:
        return None
    return wider.text if slot_matches(wider.slots, filters) else None


def relaxed_query(analysed: KeywordQuery, filters: SearchFilters) -> Relaxed | None:
    """Drop the least informative words, one at a time, until the rest has matches."""
    slots = list(analysed.slots[:MOST_WORDS_RELAXED])
    if len(slots) < 2:
        return None
    # How many products carry each word, up to a bound: a word nothing carries tells the
    # catalog nothing; among the rest the commonest tells it least.
    counts = slot_counts(tuple(slots), filters, cap=COMMON_WORD_PRODUCTS)
    carried = dict(zip(slots, counts, strict=True))
    order = sorted(slots, key=lambda slot: (carried[slot] > 0, -carried[slot]))
    dropped: list[Slot] = []
    for slot in order[:-1]:
        dropped.append(slot)
        kept = tuple(s for s in slots if s not in dropped)
        found = slot_match_rows(kept, filters)
        if found.ids:
            query = " ".join(s.text for s in kept)
            return Relaxed(query, tuple(s.text for s in dropped), found.ids, found.rows)
    return None


# The category of the first of the nearest products that has one.
_NEAREST_CATEGORY_SQL = """
SELECT category.slug
FROM unnest(%s::bigint[]) WITH ORDINALITY AS nearest(product_id, position)
JOIN catalog_product AS product ON product.id = nearest.product_id
JOIN catalog_category AS category ON category.id = product.category_id
ORDER BY nearest.position LIMIT 1
"""


def you_might_like(
    query_vector: Sequence[float],
    nearest: Sequence[tuple[int, float]],
    *,
    encoder: ClipEncoder,
    filters: SearchFilters,
) -> tuple[int, ...]:
    """In-stock products of the category of the product nearest to the query."""
    with read_connection().cursor() as cursor:
        cursor.execute(_NEAREST_CATEGORY_SQL, [[pk for pk, _ in nearest]])
        row = cursor.fetchone()
    if row is None:
        return ()
    (slug,) = row
    in_category = dataclasses.replace(filters, categories=(slug,), in_stock=True)
    ranked = product_vector_ranking(
        query_vector, encoder=encoder, filters=in_category, limit=YOU_MIGHT_LIKE
    )
    return tuple(pk for pk, _ in ranked)
