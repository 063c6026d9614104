"""The only thing analytics keeps about a shopper: a random token in a cookie, linked to nothing
(no account, no address), so that a dashboard can count searches per visit."""

from __future__ import annotations

import secrets

from django.conf import settings

COOKIE = "fidelis_search_session"
LIFETIME_S = 30 * 60  # a visit: renewed with every search


def search_session(request) -> str:
    token = request.COOKIES.get(COOKIE, "")
    if len(token) == 32 and all(ch in "0123456789abcdef" for ch in token):
        return token
    return secrets.token_hex(16)


def with_search_session(response, token: str):
    response.set_cookie(
        COOKIE,
        token,
        max_age=LIFETIME_S,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response
