"""What a search and a click leave behind: SearchEvent and ResultEvent rows, via the recorder."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django.utils import timezone

from analytics.models import ResultEvent, SearchEvent
from analytics.recorder import recorder

_WORD = re.compile(r"[\w-]+")


def normalised(query: str) -> str:
    return " ".join(_WORD.findall(query.lower()))[:200]


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


def search_logged(*, mode: str, query: str, params: dict, page, latency_ms: float, session: str):
    """Record a search answered with `page` (a SearchPage); its query id."""
    query_id = uuid.uuid4()
    filters = {
        name: _plain(value)
        for name, value in params.items()
        if name not in ("q", "page", "page_size") and value not in (None, [], False, "")
    }
    recorder.record(
        SearchEvent(
            id=query_id,
            mode=mode,
            query=normalised(query),
            filters=filters,
            results=page.total,
            latency_ms=round(latency_ms, 2),
            page=page.page,
            session=session,
            merchant_ids=sorted({hit.product.merchant_id for hit in page.hits}),
            created_at=timezone.now(),
        )
    )
    return query_id


def result_logged(*, search_id: uuid.UUID, product, position: int, kind: str) -> None:
    recorder.record(
        ResultEvent(
            search_id=search_id,
            kind=kind,
            product_id=product.pk,
            merchant_id=product.merchant_id,
            position=position,
            created_at=timezone.now(),
        )
    )
