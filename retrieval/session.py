"""Search settings for every database session, set once when a connection opens.

Setting them per query (SET LOCAL inside a transaction) cost three extra round trips and a
transaction per search half; with persistent connections (CONN_MAX_AGE) a session setting is
paid once. Code that needs other values (the guard's narrow keypoint search) still uses
SET LOCAL, which wins inside its own transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.signals import connection_created

# Upper bound on rows an iterative scan visits before giving up (pgvector's default is 20,000).
MAX_SCAN_TUPLES = 50_000
# Trigram prefilter for typo candidates: "tshrit" vs "tshirt" is 0.27.
TRIGRAM_THRESHOLD = 0.2


# The search breadth by the number of vectors (the larger of the two vector tables), when
# FIDELIS_HNSW_EF_SEARCH is "auto". Measured by bench/search.py on its clustered 512-d vectors
# with the default graph (m 16, ef_construction 256): recall@10 0.99+ at ef_search 100 for
# 100,000; at 1,000,000, 0.975 at 200 and 0.99 at 400 (README "Sizing").
AUTO_EF_SEARCH = ((250_000, 100), (600_000, 200), (None, 300))

_VECTOR_ROWS = """
SELECT coalesce(max(reltuples), 0)::bigint FROM pg_class
WHERE oid IN (to_regclass('retrieval_productembedding'), to_regclass('retrieval_imageembedding'))
"""


def auto_ef_search(vectors: int) -> int:
    return next(ef for most, ef in AUTO_EF_SEARCH if most is None or vectors <= most)


def search_settings(ef_search: int) -> dict:
    return {
        # relaxed_order: keep reading the HNSW graph past rows the filters reject, so a
        # selective filter never empties the list while matches exist further down; rows are
        # re-sorted by the caller.
        "hnsw.iterative_scan": "relaxed_order",
        # Recall against latency, by catalog size and graph, as bench/search.py measures it.
        "hnsw.ef_search": ef_search,
        "hnsw.max_scan_tuples": MAX_SCAN_TUPLES,
        "pg_trgm.similarity_threshold": TRIGRAM_THRESHOLD,
    }


def apply_search_settings(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        ef_search = settings.FIDELIS_HNSW_EF_SEARCH
        if ef_search is None:
            # Planner statistics, not a count: free, and fresh enough (autovacuum's ANALYZE).
            cursor.execute(_VECTOR_ROWS)
            ef_search = auto_ef_search(cursor.fetchone()[0])
        # Extension settings are accepted before the extension loads (as placeholders).
        cursor.execute(
            "; ".join(f"SET {name} = {value}" for name, value in search_settings(ef_search).items())
        )


def connect() -> None:
    # weak=False: never rely on something else keeping the receiver alive (receivers.py).
    connection_created.connect(
        apply_search_settings, weak=False, dispatch_uid="retrieval-search-settings"
    )
