"""Query suggestions as a shopper types: popular past queries and catalog terms.

Popular queries (analytics.popular: searched by many visits, still finding shown products by
every word) come first, up to MOST_POPULAR of them, completing the whole input. Catalog terms
are category names, brands and title words (the retrieval_suggestion_term view, built
from searchable products only), offered when at least MIN_HITS products carry them. A prefix
finds them through the view's text_pattern_ops index; when it finds fewer than the limit, terms
whose beginning is one edit from what was typed follow ("sneek" -> "sneakers"), among those
sharing its first letter (the same index narrows them). Several words: the last one is
completed and the earlier ones kept ("blue dr" -> "blue dress").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config.replicas import read_connection

MAX_SUGGESTIONS = 10
MIN_HITS = 2  # a word only one product carries is rarely what a shopper means
MIN_TYPED = 2  # characters before anything is suggested
_WORD = re.compile(r"[\w-]+")

MOST_POPULAR = 5  # the rest of the list stays for the catalog's own terms

_POPULAR_SQL = """
SELECT query, 'query', hits FROM analytics_popularquery
WHERE query LIKE %(prefix)s ORDER BY searchers DESC, query LIMIT %(limit)s
"""

_SUGGEST_SQL = """
(SELECT term, kind, hits, 0 FROM retrieval_suggestion_term
 WHERE term LIKE %(prefix)s AND hits >= %(min_hits)s
 ORDER BY hits DESC, term LIMIT %(limit)s)
UNION ALL
(SELECT term, kind, hits, 1 FROM retrieval_suggestion_term
 WHERE term LIKE %(first_letter)s AND term NOT LIKE %(prefix)s AND hits >= %(min_hits)s
   AND length(term) >= %(length)s
   AND levenshtein_less_equal(left(term, %(length)s), %(typed)s, 1) <= 1
 ORDER BY levenshtein(left(term, %(length)s), %(typed)s), hits DESC, term LIMIT %(limit)s)
"""


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # query (a popular one), category, brand or word
    hits: int  # searchable products carrying the term


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def suggestions_for(typed: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    words = _WORD.findall(typed.lower())
    if not words or len(" ".join(words)) < MIN_TYPED:
        return []
    found: dict[str, Suggestion] = {}
    # The whole input first (category names can have several words), then its last word.
    attempts = [("", " ".join(words))]
    if len(words) > 1:
        attempts.append((" ".join(words[:-1]) + " ", words[-1]))
    with read_connection().cursor() as cursor:
        cursor.execute(
            _POPULAR_SQL,
            {"prefix": _like_prefix(" ".join(words)), "limit": min(limit, MOST_POPULAR)},
        )
        for text, kind, hits in cursor.fetchall():
            found[text] = Suggestion(text, kind, hits)
        for head, tail in attempts:
            if len(tail) < MIN_TYPED:
                continue
            cursor.execute(
                _SUGGEST_SQL,
                {
                    "prefix": _like_prefix(tail),
                    "first_letter": _like_prefix(tail[0]),
                    "typed": tail,
                    "length": len(tail),
                    "min_hits": MIN_HITS,
                    "limit": limit,
                },
            )
            for term, kind, hits, _ in cursor.fetchall():
                text = head + term
                if text not in found and len(found) < limit:
                    found[text] = Suggestion(text, kind, hits)
    return list(found.values())
