"""search_eval's work: each judged query through shopper search, scored against its grades."""

from __future__ import annotations

import contextlib
from collections import defaultdict

from django.test.utils import override_settings

from analytics.models import Evaluation
from analytics.relevance import QueryScores, mean_scores, scores
from catalog.models import Merchant, Product
from retrieval import fusion
from retrieval.filters import SearchFilters
from retrieval.search import products_search_text

RANKED = 100  # results read per query: recall@100 needs them


def evaluation_run(*, merchant: Merchant, label: str = "") -> Evaluation:
    """Score the search, as configured now, on the merchant's judgements; saved."""
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for query, sku, grade in merchant.judgements.values_list("query", "sku", "grade"):
        judged[query][sku] = grade
    rows = Product.objects.filter(merchant=merchant).values_list("pk", "sku", "item_group_id")
    skus = {pk: sku for pk, sku, _ in rows}
    group_of = {pk: group for pk, _, group in rows if group}
    variants: dict[str, list[str]] = defaultdict(list)
    for _, sku, group in rows.order_by("sku"):
        if group:
            variants[group].append(sku)
    # The merchant's own catalog: another shop's products are neither relevant nor judged.
    filters = SearchFilters(merchant_id=merchant.pk)
    per_query: list[QueryScores] = []
    for query, grades in sorted(judged.items()):
        page = products_search_text(query=query, filters=filters, page_size=RANKED)
        ranked = []
        for hit in page.hits:
            # A tile stands for its item's variants: they rank right after the one shown.
            shown = skus.get(hit.product.pk, "")
            others = variants.get(group_of.get(hit.product.pk, ""), [])
            ranked += [shown, *(sku for sku in others if sku != shown)]
        per_query.append(scores(query, ranked, grades))
    return Evaluation.objects.create(
        merchant=merchant,
        label=label,
        overall=mean_scores(per_query),
        per_query={s.query: s.as_dict() for s in per_query},
    )


# What --compare may change: NAME=VALUE -> a context manager that applies it.
def _vector_cutoff(value: str):
    return override_settings(FIDELIS_VECTOR_MATCH_SIMILARITY=float(value))


def _synonyms(value: str):
    return override_settings(FIDELIS_SYNONYMS=value.lower() in ("on", "1", "true", "yes"))


@contextlib.contextmanager
def _rrf_k(value: str):
    before, fusion.RRF_K = fusion.RRF_K, int(value)
    try:
        yield
    finally:
        fusion.RRF_K = before


CONFIGURATIONS = {"vector_cutoff": _vector_cutoff, "synonyms": _synonyms, "rrf_k": _rrf_k}


def configured(changes: list[str]):
    """A context manager that applies NAME=VALUE changes while it is entered; ValueError now,
    naming what is unknown."""
    parsed = []
    for change in changes:
        name, _, value = change.partition("=")
        if name not in CONFIGURATIONS or not value:
            raise ValueError(
                f"--compare {change!r}: give NAME=VALUE with NAME one of "
                f"{', '.join(CONFIGURATIONS)}."
            )
        parsed.append((name, value))

    @contextlib.contextmanager
    def applied():
        with contextlib.ExitStack() as stack:
            for name, value in parsed:
                stack.enter_context(CONFIGURATIONS[name](value))
            yield

    return applied()
