"""Request rates per client (DRF throttles). A refused request gets 429 with Retry-After.

The counters live in PostgreSQL, the one store every app process and host shares: one
statement per request counts the client's hits in the current fixed window (its length is the
rate's period). DRF's own throttles keep a list of timestamps in the cache; in the database
cache that cost six statements and 2.1-3.4 ms a request, this one statement (bench/throttle.py).
Rates are read from settings on each request.
"""

import logging
import random
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger("fidelis.throttles")

COUNT_HIT = """
INSERT INTO fidelis_throttle (key, window_start, hits) VALUES (%s, %s, 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = fidelis_throttle.hits + 1
RETURNING hits
"""
# This scope's finished windows are deleted now and then, by the request that draws it.
FORGET_OLD = "DELETE FROM fidelis_throttle WHERE key LIKE %s AND window_start < %s"
FORGET_EVERY = 200  # requests, on average


class SettingsRateThrottle(UserRateThrottle):
    """DRF's per-user (else per-address) throttle, counted in the shared table."""

    def get_rate(self) -> str:
        return settings.FIDELIS_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        try:
            with connection.cursor() as cursor:
                cursor.execute(COUNT_HIT, [self.key, window])
                hits = cursor.fetchone()[0]
                if random.randrange(FORGET_EVERY) == 0:
                    cursor.execute(FORGET_OLD, [f"throttle_{self.scope}_%", window])
        except (OperationalError, InterfaceError) as err:
            # The primary is unreachable (restarting, failing over). Searches still answer
            # from a replica, so a request that cannot be counted is let through rather than
            # refused; whatever needs the primary fails on its own with 503.
            logger.warning(
                "Throttle %s not counted, the primary is unreachable: %s", self.scope, err
            )
            return True
        self.retry_after = (window + 1) * self.duration - now
        return hits <= self.num_requests

    def wait(self) -> float:
        return self.retry_after


class SearchThrottle(SettingsRateThrottle):
    """Text search, similar products and listings: per signed-in user, else per address."""

    scope = "search"


class SuggestThrottle(SettingsRateThrottle):
    """Suggestions come with every keystroke: a rate of their own."""

    scope = "suggest"


class PhotoSearchThrottle(SettingsRateThrottle):
    """Photo search encodes an image per request: a lower rate than text search."""

    scope = "photo_search"


class TokenThrottle(SettingsRateThrottle):
    """Password guesses for API tokens, per address, whatever the username (django-axes locks a
    username and address pair out after repeated failures)."""

    scope = "token"


class CreateThrottle(SettingsRateThrottle):
    """Create and studio jobs per merchant: a burst limit under the hourly quota."""

    scope = "create"

    def get_cache_key(self, request, view) -> str | None:
        merchant = getattr(view, "merchant", None)
        if merchant is None:
            return None  # refused by the permission check anyway
        return self.cache_format % {"scope": self.scope, "ident": f"merchant-{merchant.pk}"}
