"""Analytics rows are written in batches by one thread per process: a search never waits.

`record(row)` only appends to a list. A thread writes what has gathered every
FIDELIS_ANALYTICS_FLUSH_S (or at once when MAX_BATCH rows wait) with one INSERT per model, on
its own connection, closed after each batch so nothing holds a connection while idle. Rows of
a process that dies are lost (at most one interval's worth); a clean exit writes them
(atexit, and gunicorn's worker_exit hook). Analytics never fails a search: a failed write is
logged and dropped.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import defaultdict

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger("fidelis.analytics")

MAX_BATCH = 500
MAX_WAITING = 20_000  # beyond this (the database away for long), new rows are dropped


class Recorder:
    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: list = []
        self._wake = threading.Event()
        self._pid = None  # the process whose thread runs; a forked child starts its own
        self.dropped = 0

    def record(self, row) -> None:
        if not settings.FIDELIS_ANALYTICS:
            return
        if settings.FIDELIS_ANALYTICS_INLINE:
            type(row).objects.bulk_create([row])
            return
        with self._lock:
            if self._pid != os.getpid():
                self._start()
            if len(self._waiting) >= MAX_WAITING:
                self.dropped += 1
                return
            self._waiting.append(row)
            if len(self._waiting) >= MAX_BATCH:
                self._wake.set()

    def flush(self) -> int:
        """Write every waiting row now; the number written."""
        with self._lock:
            rows, self._waiting = self._waiting, []
        if not rows:
            return 0
        by_model = defaultdict(list)
        for row in rows:
            by_model[type(row)].append(row)
        written = 0
        try:
            for model, batch in by_model.items():
                model.objects.bulk_create(batch)
                written += len(batch)
        except DatabaseError as err:
            logger.warning("Dropped %s analytics rows: %s", len(rows) - written, err)
        return written

    def _start(self) -> None:
        self._pid = os.getpid()
        self._waiting = []
        thread = threading.Thread(target=self._run, name="fidelis-analytics", daemon=True)
        thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(settings.FIDELIS_ANALYTICS_FLUSH_S)
            self._wake.clear()
            self.flush()
            connections.close_all()  # this thread's own: none is held between batches


recorder = Recorder()
atexit.register(recorder.flush)
