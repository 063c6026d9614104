"""The last answer to an error no view handled: 503 with Retry-After while the database is
unreachable (a restart, a failover), a plain 500 otherwise.

Django calls `server_error` (handler500) inside its handling of the exception, so the error is
at hand. A database error inside a request leaves nothing half-written: every write that goes
together runs in one transaction, which the server rolls back when the connection drops.
"""

from __future__ import annotations

import sys

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from config.middleware import refusal

RETRY_AFTER_S = 5
UNAVAILABLE_MESSAGE = (
    f"The shop's database is briefly unavailable (a restart or a failover): try again in "
    f"{RETRY_AFTER_S} seconds."
)
SERVER_ERROR_MESSAGE = "Something went wrong on our side; it has been logged."


# The queue raises its own error *from* the driver's: a write commits, its job is queued on
# commit, and the primary goes down in between (a 500 in the cluster test's primary restart,
# once). The causes are followed to the driver's error.
_UNREACHABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def database_unavailable(error: BaseException | None) -> bool:
    for _ in range(8):  # a cause chain is short; never loop on a cycle
        if error is None:
            return False
        if isinstance(error, _UNREACHABLE):
            return True
        error = error.__cause__
    return False


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response = refusal(request, 503, "database_unavailable", UNAVAILABLE_MESSAGE)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    if database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return refusal(request, 500, "server_error", SERVER_ERROR_MESSAGE)
