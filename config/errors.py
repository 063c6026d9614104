"""The last answer to an error no view handled: 503 with Retry-After while the database is
unreachable (a restart, a failover), a plain 500 otherwise.

Django calls `server_error` (handler500) inside its handling of the exception, so the error is
at hand. A database error inside a request leaves nothing half-written: every write that goes
together runs in one transaction, which the server rolls back when the connection drops.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from config.middleware import refusal

RETRY_AFTER_S = 5
UNAVAILABLE_MESSAGE = (
    f"The shop's database is briefly unavailable (a restart or a failover): try again in "
    f"{RETRY_AFTER_S} seconds."
)
SERVER_ERROR_MESSAGE = "Something went wrong on our side; it has been logged."


def database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, (OperationalError, InterfaceError))


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response = refusal(request, 503, "database_unavailable", UNAVAILABLE_MESSAGE)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    if database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return refusal(request, 500, "server_error", SERVER_ERROR_MESSAGE)
