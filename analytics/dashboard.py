"""The figures of a merchant's search dashboard, each in one grouped query.

A merchant sees the searches that showed its products (and their clicks on its products), and
every search that found nothing: demand it might meet, which tells nothing about another shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from analytics.models import Evaluation

DAYS = 30
TOP = 10


@dataclass(frozen=True)
class QueryRow:
    query: str
    searches: int
    clicks: int
    mean_position: float | None

    @property
    def click_through(self) -> float:
        return round(self.clicks / self.searches, 3) if self.searches else 0.0


def _scope(merchant_id: int | None) -> tuple[str, list]:
    if merchant_id is None:  # a superuser: the whole shop
        return "TRUE", []
    return "%s = ANY(search.merchant_ids)", [merchant_id]


def top_queries(merchant_id: int | None, *, since, limit: int = TOP) -> list[QueryRow]:
    scope, params = _scope(merchant_id)
    click_scope = "" if merchant_id is None else "AND result.merchant_id = %s"
    click_params = [] if merchant_id is None else [merchant_id]
    sql = f"""
    SELECT search.query, count(DISTINCT search.id), count(result.id), avg(result.position)
    FROM analytics_searchevent AS search
    LEFT JOIN analytics_resultevent AS result
      ON result.search_id = search.id AND result.kind = 'click' {click_scope}
    WHERE search.mode = 'text' AND search.created_at >= %s AND search.results > 0 AND {scope}
    GROUP BY search.query ORDER BY count(DISTINCT search.id) DESC, search.query LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*click_params, since, *params, limit])
        return [
            QueryRow(q, n, c, None if p is None else round(float(p), 1))
            for q, n, c, p in cursor.fetchall()
        ]


def zero_result_queries(*, since, limit: int = TOP) -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query, count(*) FROM analytics_searchevent WHERE mode = 'text' "
            "AND results = 0 AND created_at >= %s GROUP BY query ORDER BY count(*) DESC, query "
            "LIMIT %s",
            [since, limit],
        )
        return cursor.fetchall()


def latency_by_day(merchant_id: int | None, *, since) -> list[tuple[str, float, float, int]]:
    """(day, p50 ms, p95 ms, searches) per day."""
    scope, params = _scope(merchant_id)
    sql = f"""
    SELECT to_char(date_trunc('day', search.created_at), 'YYYY-MM-DD'),
      percentile_cont(0.5) WITHIN GROUP (ORDER BY search.latency_ms),
      percentile_cont(0.95) WITHIN GROUP (ORDER BY search.latency_ms), count(*)
    FROM analytics_searchevent AS search
    WHERE search.created_at >= %s AND ({scope} OR search.results = 0)
    GROUP BY 1 ORDER BY 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, *params])
        return [(day, round(p50, 1), round(p95, 1), n) for day, p50, p95, n in cursor.fetchall()]


@dataclass(frozen=True)
class Dashboard:
    days: int
    top: list[QueryRow]
    zero: list[tuple[str, int]]
    latency: list[tuple[str, float, float, int]]
    evaluation: Evaluation | None  # the latest search_eval run


def dashboard_for(merchant_id: int | None, *, days: int = DAYS) -> Dashboard:
    since = timezone.now() - timedelta(days=days)
    return Dashboard(
        days=days,
        top=top_queries(merchant_id, since=since),
        zero=zero_result_queries(since=since),
        latency=latency_by_day(merchant_id, since=since),
        evaluation=_latest_evaluation(merchant_id),
    )


def _latest_evaluation(merchant_id: int | None) -> Evaluation | None:
    evaluations = Evaluation.objects.order_by("-created_at")
    if merchant_id is not None:
        evaluations = evaluations.filter(merchant_id=merchant_id)
    return evaluations.first()
