"""Relevance metrics of a ranked list against graded judgements (0 = not relevant, 1-3).

nDCG@10 uses the exponential gain (2^grade - 1) and log2 discounts, the usual TREC form; MRR,
P@10 and recall@100 count a document as relevant when its grade is at least 1. Unjudged
documents count as not relevant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class QueryScores:
    query: str
    ndcg_at_10: float
    mrr: float
    precision_at_10: float
    recall_at_100: float

    def as_dict(self) -> dict[str, float]:
        return {
            "ndcg@10": self.ndcg_at_10,
            "mrr": self.mrr,
            "p@10": self.precision_at_10,
            "recall@100": self.recall_at_100,
        }


def _dcg(grades: Sequence[int]) -> float:
    return sum((2**grade - 1) / math.log2(rank + 1) for rank, grade in enumerate(grades, 1))


def scores(query: str, ranked: Sequence[str], grades: Mapping[str, int]) -> QueryScores:
    """Scores of one query: `ranked` ids best first, `grades` {id: grade} of its judgements."""
    relevant = {doc for doc, grade in grades.items() if grade > 0}
    top10 = [grades.get(doc, 0) for doc in ranked[:10]]
    ideal = _dcg(sorted(grades.values(), reverse=True)[:10])
    first = next((rank for rank, doc in enumerate(ranked, 1) if doc in relevant), None)
    return QueryScores(
        query=query,
        ndcg_at_10=_dcg(top10) / ideal if ideal else 0.0,
        mrr=1 / first if first else 0.0,
        precision_at_10=sum(1 for grade in top10 if grade > 0) / 10,
        recall_at_100=len(relevant & set(ranked[:100])) / len(relevant) if relevant else 0.0,
    )


def mean_scores(per_query: Sequence[QueryScores]) -> dict[str, float]:
    if not per_query:
        return {"ndcg@10": 0.0, "mrr": 0.0, "p@10": 0.0, "recall@100": 0.0}
    keys = per_query[0].as_dict().keys()
    return {key: sum(s.as_dict()[key] for s in per_query) / len(per_query) for key in keys}
