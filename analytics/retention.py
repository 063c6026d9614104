"""Analytics rows older than FIDELIS_ANALYTICS_RETENTION_DAYS are deleted."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from analytics.models import ResultEvent, SearchEvent


def analytics_expired_delete(*, now=None) -> int:
    """Delete searches and result events past the retention period; how many rows went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FIDELIS_ANALYTICS_RETENTION_DAYS)
    searches, _ = SearchEvent.objects.filter(created_at__lt=cutoff).delete()
    results, _ = ResultEvent.objects.filter(created_at__lt=cutoff).delete()
    return searches + results
