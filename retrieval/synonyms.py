"""Merchants' synonyms: checked on save, and found for a query's words at search time.

A synonym applies only to the products of the merchant that declared it: "jeans -> trousers"
from one shop never changes what another shop's products match. At search time the query's
word sequences (up to three words) are looked up in one statement (GIN index on `terms`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.models import Merchant
from config.replicas import read_connection
from retrieval.models import Synonym

MAX_TERMS = 50  # per side of a set; the database holds the same bound
MAX_TERM_WORDS = 3
MAX_TERM_CHARS = 60
_WORD = re.compile(r"[\w-]+")


def normalised_terms(values, *, field: str) -> list[str]:
    """Lowercase terms, words single-spaced, duplicates dropped; ValidationError if bad."""
    if isinstance(values, str):
        values = values.split(",")
    terms: list[str] = []
    for value in values:
        words = _WORD.findall(str(value).lower())
        if not words:
            continue
        if len(words) > MAX_TERM_WORDS:
            raise ValidationError(
                f"{field}: “{value}” has {len(words)} words; a term has at most {MAX_TERM_WORDS}.",
                code="synonym_term_too_long",
            )
        term = " ".join(words)
        if len(term) > MAX_TERM_CHARS:
            raise ValidationError(
                f"{field}: a term has at most {MAX_TERM_CHARS} characters.",
                code="synonym_term_too_long",
            )
        if term not in terms:
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise ValidationError(
            f"{field}: a synonym set holds at most {MAX_TERMS} terms, not {len(terms)}. "
            "Split it into several sets.",
            code="synonym_set_too_large",
        )
    return terms


def synonym_clean(*, kind: str, terms, synonyms) -> tuple[list[str], list[str]]:
    """The set's terms and synonyms as stored, or a ValidationError naming what is wrong."""
    if kind not in Synonym.Kind.values:
        raise ValidationError(
            f"kind must be one of {', '.join(Synonym.Kind.values)}.", code="invalid_choice"
        )
    terms = normalised_terms(terms, field="terms")
    synonyms = normalised_terms(synonyms or [], field="synonyms")
    if kind == Synonym.Kind.ONE_WAY:
        if not terms or not synonyms:
            raise ValidationError(
                "A one-way set needs terms and the synonyms they also find.",
                code="synonym_set_incomplete",
            )
        synonyms = [s for s in synonyms if s not in terms]
        if not synonyms:
            raise ValidationError(
                "A one-way set's synonyms must differ from its terms.",
                code="synonym_set_incomplete",
            )
    else:
        if synonyms:
            raise ValidationError(
                "A multi-way set lists all its terms in `terms`; `synonyms` stays empty.",
                code="synonym_set_incomplete",
            )
        if len(terms) < 2:
            raise ValidationError(
                "A multi-way set needs at least two terms.", code="synonym_set_incomplete"
            )
    return terms, synonyms


@transaction.atomic
def synonym_save(*, merchant: Merchant, kind: str, terms, synonyms=(), instance=None) -> Synonym:
    terms, synonyms = synonym_clean(kind=kind, terms=terms, synonyms=synonyms)
    synonym = instance or Synonym(merchant=merchant)
    synonym.kind, synonym.terms, synonym.synonyms = kind, terms, synonyms
    synonym.save()
    return synonym


@dataclass(frozen=True)
class Span:
    """Query words start..end (exclusive) form a term some merchants give synonyms for."""

    start: int
    end: int
    term: str
    alternatives: dict[str, tuple[int, ...]]  # other way to say it -> merchants


_LOOKUP_SQL = "SELECT merchant_id, kind, terms, synonyms FROM retrieval_synonym WHERE terms && %s"


def synonym_spans(words: list[str]) -> list[Span]:
    """The longest runs of query words that are synonym terms, left to right, no overlaps."""
    phrases = {
        " ".join(words[i : i + n]): (i, i + n)
        for n in range(1, MAX_TERM_WORDS + 1)
        for i in range(len(words) - n + 1)
    }
    if not phrases:
        return []
    with read_connection().cursor() as cursor:
        cursor.execute(_LOOKUP_SQL, [list(phrases)])
        rows = cursor.fetchall()
    if not rows:
        return []
    alternatives: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for merchant_id, kind, terms, synonyms in rows:
        others = synonyms if kind == Synonym.Kind.ONE_WAY else terms
        for term in terms:
            if term in phrases:
                for other in others:
                    if other != term:
                        alternatives[term][other].add(merchant_id)
    spans, taken = [], set()
    for term in sorted(alternatives, key=lambda t: (phrases[t][0], -len(t.split()))):
        start, end = phrases[term]
        if taken.isdisjoint(range(start, end)):
            taken.update(range(start, end))
            found = {other: tuple(sorted(ids)) for other, ids in alternatives[term].items()}
            spans.append(Span(start, end, term, found))
    return sorted(spans, key=lambda span: span.start)
