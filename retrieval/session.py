"""Search settings for every database session, set once when a connection opens.

Setting them per query (SET LOCAL inside a transaction) cost three extra round trips and a
transaction per search half; with persistent connections (CONN_MAX_AGE) a session setting is
paid once. Code that needs other values (the guard's narrow keypoint search) still uses
SET LOCAL, which wins inside its own transaction.
"""

from __future__ import annotations

from django.db.backends.signals import connection_created

# HNSW search breadth: at 100 recall@10 was 0.9765 on 100k clustered 512-d halfvecs; 200 as
# MODELS.md measured for halfvec (bench/search.py).
EF_SEARCH = 200
# Upper bound on rows an iterative scan visits before giving up (pgvector's default is 20,000).
MAX_SCAN_TUPLES = 50_000
# Trigram prefilter for typo candidates: "tshrit" vs "tshirt" is 0.27.
TRIGRAM_THRESHOLD = 0.2

SESSION_SETTINGS = {
    # relaxed_order: keep reading the HNSW graph past rows the filters reject, so a selective
    # filter never empties the list while matches exist further down; rows are re-sorted by
    # the caller.
    "hnsw.iterative_scan": "relaxed_order",
    "hnsw.ef_search": EF_SEARCH,
    "hnsw.max_scan_tuples": MAX_SCAN_TUPLES,
    "pg_trgm.similarity_threshold": TRIGRAM_THRESHOLD,
}


def apply_search_settings(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Extension settings are accepted before the extension loads (as placeholders).
        cursor.execute(
            "; ".join(f"SET {name} = {value}" for name, value in SESSION_SETTINGS.items())
        )


def connect() -> None:
    # weak=False: never rely on something else keeping the receiver alive (receivers.py).
    connection_created.connect(
        apply_search_settings, weak=False, dispatch_uid="retrieval-search-settings"
    )
