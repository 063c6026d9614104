"""Reciprocal rank fusion: merge ranked lists without calibrating their scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

# Cormack et al.'s constant: damps the head of each list so no single signal dominates.
RRF_K = 60


class FusedHit(NamedTuple):  # a tuple: a search makes a few hundred
    product_id: int
    score: float
    signals: tuple[str, ...]  # which rankings matched, e.g. ("vector", "keyword")


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[int]]) -> list[FusedHit]:
    """Fuse {signal name: product ids best first}; ties broken by product id (deterministic)."""
    scores: dict[int, float] = {}
    signals: dict[int, list[str]] = {}
    for name, ranked_ids in rankings.items():
        for rank, product_id in enumerate(ranked_ids, start=1):
            scores[product_id] = scores.get(product_id, 0.0) + 1.0 / (RRF_K + rank)
            signals.setdefault(product_id, []).append(name)
    ordered = sorted(scores, key=lambda pid: (-scores[pid], pid))
    return [FusedHit(pid, round(scores[pid], 6), tuple(signals[pid])) for pid in ordered]
