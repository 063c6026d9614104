"""Probes for the load balancer and the orchestrator.

/healthz: the process is alive and answers (no dependency is checked: a database outage must
not make every app process look dead and get restarted). /readyz: this process can serve
searches: the database answers with every migration applied, the queue's tables are there, and
the encoder is loaded. Both are plain GETs, exempt from the HTTPS redirect (settings).
"""

from __future__ import annotations

import threading

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from retrieval import encoders

_migrations_checked = False
_encoder_loading = threading.Lock()


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database(), "queue": _queue(), "encoder": _encoder()}
    ready = all(state == "ok" for state in checks.values())
    response = JsonResponse({"status": "ready" if ready else "not ready", "checks": checks})
    if not ready:
        response.status_code = 503
        response["Retry-After"] = "5"
    return response


def _database() -> str:
    global _migrations_checked
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_checked:  # once per process: migrations do not go back
            if pending_migrations(connection):
                return "migrations not applied: run ./fidelis manage migrate"
            _migrations_checked = True
    except DatabaseError as err:
        connection.close()
        return f"unreachable: {(str(err).strip().splitlines() or [type(err).__name__])[0]}"
    return "ok"


def pending_migrations(connection) -> list:
    """The migrations `connection`'s database still lacks (serve refuses to start with any)."""
    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def _queue() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1 FROM procrastinate_jobs LIMIT 0")
    except DatabaseError:
        connections[DEFAULT_DB_ALIAS].close()
        return "the queue's tables are missing or unreachable"
    return "ok"


def _encoder() -> str:
    if encoders.encoder_loaded():
        return "ok"
    # Load it in the background; the probe answers at once and says so.
    if _encoder_loading.acquire(blocking=False):
        threading.Thread(target=_load_encoder, name="fidelis-encoder-load", daemon=True).start()
    return "loading"


def _load_encoder() -> None:
    try:
        encoders.get_encoder()
    finally:
        _encoder_loading.release()
