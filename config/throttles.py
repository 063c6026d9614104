"""Request rates per client (DRF throttles). A refused request gets 429 with Retry-After.

The counters live in the default cache, which is the database (settings.CACHES), so every app
process and host counts together. Rates are read from settings on each request.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        return settings.FIDELIS_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view) -> str:
        who = (
            f"user-{request.user.pk}" if request.user.is_authenticated else self.get_ident(request)
        )
        return self.cache_format % {"scope": self.scope, "ident": who}


class SearchThrottle(SettingsRateThrottle):
    """Text search, similar products and listings: per signed-in user, else per address."""

    scope = "search"


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
