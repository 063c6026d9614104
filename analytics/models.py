"""Search analytics: what shoppers searched and which results they opened.

No personal data: no IP address, no user, at most a random session token from a cookie that
is linked to nothing. Rows reference products and searches by id without foreign keys: they are
written in batches off the request path (analytics/recorder.py), a click may be written before
its search, and a deleted product must not delete or block its history. Old rows are deleted
after FIDELIS_ANALYTICS_RETENTION_DAYS (analytics/tasks.py).
"""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class SearchEvent(models.Model):
    class Mode(models.TextChoices):
        TEXT = "text", "Text"
        PHOTO = "photo", "Photo"
        SIMILAR = "similar", "More like this"

    # The query id pages and API clients send back with a click.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mode = models.CharField(max_length=7, choices=Mode.choices)
    query = models.CharField(max_length=200, blank=True, help_text="Lowercased, single-spaced.")
    filters = models.JSONField(default=dict, blank=True)
    results = models.PositiveIntegerField()
    latency_ms = models.FloatField()
    page = models.PositiveIntegerField(default=1)
    session = models.CharField(max_length=32, blank=True)
    # Merchants whose products the shopper was shown: each merchant's dashboard reads these.
    merchant_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "search"
        verbose_name_plural = "search dashboard"
        indexes = [GinIndex(fields=["merchant_ids"], name="search_event_merchants")]

    def __str__(self) -> str:
        return f"{self.mode} “{self.query}” ({self.results})"


class ResultEvent(models.Model):
    class Kind(models.TextChoices):
        CLICK = "click", "Click"
        ADD_TO_CART = "add_to_cart", "Add to cart"

    search_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=11, choices=Kind.choices, default=Kind.CLICK)
    product_id = models.BigIntegerField()
    merchant_id = models.BigIntegerField(db_index=True)
    position = models.PositiveIntegerField(help_text="1 = the first result of the first page.")
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} on product {self.product_id} at {self.position}"


class PopularQuery(models.Model):
    """A query many shoppers searched that still finds shown products: suggested as one types.

    Rebuilt from SearchEvent by analytics.popular (after every visibility change and every
    few minutes), never written by a request.
    """

    query = models.CharField(max_length=200, unique=True, help_text="Lowercased, single-spaced.")
    searchers = models.PositiveIntegerField(help_text="Distinct visits that searched it.")
    hits = models.PositiveIntegerField(help_text="Shown products it matched at the rebuild.")

    class Meta:
        indexes = [
            models.Index(
                fields=["query"], name="popular_query_prefix", opclasses=["text_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.query} ({self.searchers} searchers)"


class Judgement(models.Model):
    """A merchant's judgement: how relevant its product (by SKU) is to a query, 0 to 3."""

    merchant = models.ForeignKey(
        "catalog.Merchant", on_delete=models.CASCADE, related_name="judgements"
    )
    query = models.CharField(max_length=200, help_text="Lowercased, single-spaced.")
    sku = models.CharField("SKU", max_length=64)
    grade = models.PositiveSmallIntegerField(help_text="0 not relevant, 1 fair, 2 good, 3 perfect")

    class Meta:
        ordering = ["merchant", "query", "sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "query", "sku"], name="judgement_one_per_query_and_sku"
            ),
            models.CheckConstraint(condition=models.Q(grade__lte=3), name="judgement_grade_0_to_3"),
        ]

    def __str__(self) -> str:
        return f"{self.query} / {self.sku}: {self.grade}"


class Evaluation(models.Model):
    """One run of search_eval: the merchant's judgements against the search as configured."""

    merchant = models.ForeignKey(
        "catalog.Merchant", on_delete=models.CASCADE, related_name="evaluations"
    )
    label = models.CharField(max_length=200, blank=True)
    overall = models.JSONField()  # {"ndcg@10": ..., "mrr": ..., "p@10": ..., "recall@100": ...}
    per_query = models.JSONField()  # {query: {metric: value}}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"{self.label or 'evaluation'} of {self.created_at:%Y-%m-%d %H:%M}"
