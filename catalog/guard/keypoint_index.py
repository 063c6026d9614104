"""The catalog's keypoint index (IVFFlat) learns its lists from the rows it is built on: built
on an empty catalog, they are random centres, which hold the rows just as well (the re-check
found the same candidates) but in lopsided lists that make its scans 5.6x slower. So it is
rebuilt, without blocking writes, whenever the catalog has grown tenfold since it was built:
a few rebuilds in a catalog's life, each costing about what the last build did (12 s for
1.3 million rows here)."""

from __future__ import annotations

import logging

from django.db import connection

logger = logging.getLogger("fidelis.guard")

INDEX = "image_keypoint_descriptor_ivf"
TABLE = "catalog_productimagekeypoint"
GROWTH = 10
# k-means wants ~50 rows a list (pgvector samples that many); fewer keep the random centres.
MIN_ROWS = 50 * 1000
_LOCK = 0x6B6579  # one rebuild at a time, over all workers (a session advisory lock)
_PREFIX = "trained on "


def rows_trained_on() -> int:
    """The rows the index's lists were last computed from (0: never, random centres)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [INDEX])
        (comment,) = cursor.fetchone()
    if comment and comment.startswith(_PREFIX):
        return int(comment.removeprefix(_PREFIX).split()[0])
    return 0


def retrain_if_grown(*, min_rows: int = MIN_ROWS) -> bool:
    """Rebuild the index (REINDEX CONCURRENTLY: writes go on) once the table holds at least
    `min_rows` and GROWTH times the rows it was trained on. Returns whether it was rebuilt;
    skipped while another session rebuilds it, or inside a transaction (which REINDEX
    CONCURRENTLY cannot run in)."""
    if connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM " + TABLE)
        (rows,) = cursor.fetchone()
        trained = rows_trained_on()
        if rows < max(min_rows, GROWTH * trained, 1):
            return False
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK])
        if not cursor.fetchone()[0]:
            return False
        try:
            if rows_trained_on() != trained:  # rebuilt by another worker meanwhile
                return False
            # A rebuild killed half-way leaves an invalid copy that every insert still writes.
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE %s",
                [f"{INDEX}\\_ccnew%"],
            )
            for (leftover,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{leftover}"')
            cursor.execute(f"REINDEX INDEX CONCURRENTLY {INDEX}")
            cursor.execute(f"COMMENT ON INDEX {INDEX} IS '{_PREFIX}{rows:d} rows'")
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
    logger.info("Rebuilt the catalog keypoint index on %d rows (was %d)", rows, trained)
    return True
