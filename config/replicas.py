"""Shopper search reads on streaming replicas (DATABASE_REPLICA_URLS); all else on the primary.

Which reads: the search views decorated with `replica_reads`, for requests without credentials.
A request with credentials (a signed-in merchant, an API token) reads the primary: merchants
are few, so pinning them there costs little and they always read their own writes, with no
replication lag to wait out. Writes, the queue and migrations always use the primary.

A replica that cannot be reached is skipped for FIDELIS_REPLICA_RETRY_S and the search runs on
the primary; a search that fails on a replica runs once more on the primary (searches only
read, so running one again is safe).
"""

from __future__ import annotations

import functools
import logging
import random
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger("fidelis.replicas")

REPLICA_PREFIX = "replica"
# The alias this request's search reads use; the primary unless `replica_reads` chose one.
_read_alias: ContextVar[str] = ContextVar("fidelis_read_alias", default=DEFAULT_DB_ALIAS)
# Replica alias -> monotonic time until which it is skipped (this process only).
_skipped_until: dict[str, float] = {}


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def read_connection():
    """The connection a search's raw SQL reads from (see `replica_reads`)."""
    return connections[_read_alias.get()]


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        return _read_alias.get()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # every alias holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


def replica_reads(view):
    """Run a read-only view's queries on a replica when the request carries no credentials."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        alias = _reachable_replica() if _is_anonymous(request) else None
        if alias is None:
            return view(request, *args, **kwargs)
        token = _read_alias.set(alias)
        try:
            return view(request, *args, **kwargs)
        except DatabaseError as err:
            if not _reachable(alias):
                _skip(alias, err)
            else:
                logger.warning("A search failed on %s (%s); running it on the primary", alias, err)
        finally:
            _read_alias.reset(token)
        for upload in request.FILES.values():  # the first run read the photo
            upload.seek(0)
        return view(request, *args, **kwargs)

    return wrapped


def _is_anonymous(request) -> bool:
    return "HTTP_AUTHORIZATION" not in request.META and not request.user.is_authenticated


def _reachable_replica() -> str | None:
    now = time.monotonic()
    candidates = [a for a in replica_aliases() if _skipped_until.get(a, 0) <= now]
    random.shuffle(candidates)  # spread the reads over the replicas
    for alias in candidates:
        if _reachable(alias):
            return alias
        _skip(alias, "unreachable")
    return None


def _reachable(alias: str) -> bool:
    """Whether `alias` answers; a kept connection is health-checked first (CONN_HEALTH_CHECKS)."""
    try:
        connections[alias].cursor().close()
        return True
    except DatabaseError:
        connections[alias].close()
        return False


def _skip(alias: str, reason) -> None:
    _skipped_until[alias] = time.monotonic() + settings.FIDELIS_REPLICA_RETRY_S
    logger.warning(
        "Replica %s is unreachable (%s): searches read the primary for %s s",
        alias,
        reason,
        settings.FIDELIS_REPLICA_RETRY_S,
    )
