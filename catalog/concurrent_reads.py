"""Reads that run in a second database session beside this one's, so on a second core.

Two kinds: one read beside the caller's own (`read_beside`), and work for the items the
caller will reach next, run ahead of it (`map_ahead`).

A session's server process uses one core. Two independent reads of one request (the guard's
keypoint lookups in two halves) finish sooner in two sessions at once. That is only right when
the other session sees what this one sees: when this one has written nothing in its open
transaction (an uncommitted registration, or a test's transaction); then the read runs here,
as before. Short reads gain nothing: a search's facet counts (~1 ms) beside its page left HTTP
search times unchanged (text 18.12 vs 18.18 ms, photo 31.44 vs 31.42, alternating).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import close_old_connections, connection

A = TypeVar("A")
T = TypeVar("T")

SECOND_SESSIONS = 2
# Each thread keeps its own connection, as a request's thread does (CONN_MAX_AGE). Threads
# start on first use, after any fork of the app server. When all are busy (a loaded server,
# whose cores are busy anyway) a read runs in its own request's session instead of queueing.
_second_sessions = ThreadPoolExecutor(SECOND_SESSIONS, thread_name_prefix="fidelis-read")
_idle_sessions = threading.BoundedSemaphore(SECOND_SESSIONS)


def sees_only_committed_rows() -> bool:
    """Whether everything this session reads is committed, so another session reads it too.

    Outside a transaction every statement commits; inside one, only a transaction that has
    written has a transaction id.
    """
    if not connection.in_atomic_block:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NULL")
        return cursor.fetchone()[0]


def read_beside(read: Callable[..., T], *args) -> Future[T]:
    """Start `read(*args)` in a second session when one is idle and sees the same rows;
    otherwise run it here, now. Either way, its result (or error) comes from the future."""
    if sees_only_committed_rows() and _idle_sessions.acquire(blocking=False):
        started = _second_sessions.submit(_in_own_session, read, *args)
        started.add_done_callback(lambda _: _idle_sessions.release())
        return started
    return _run_here(read, *args)


def _run_here(work: Callable[..., T], *args) -> Future[T]:
    done: Future[T] = Future()
    try:
        done.set_result(work(*args))
    except Exception as err:
        done.set_exception(err)
    return done


def _in_own_session(read: Callable[..., T], *args) -> T:
    """Run `read` on this thread's connection, kept or closed as after a request
    (CONN_MAX_AGE, health checks)."""
    close_old_connections()
    try:
        return read(*args)
    finally:
        close_old_connections()


# Work done ahead of its caller (a feed's next images read and checked while this thread writes
# the rows before them). Its own threads and sessions: the guard inside it reads beside too.
AHEAD_SESSIONS = 2
_ahead_sessions = ThreadPoolExecutor(AHEAD_SESSIONS, thread_name_prefix="fidelis-ahead")


def map_ahead(work: Callable[[A], T], items: Iterable[A], *, ahead: int) -> Iterator[Future[T]]:
    """`work(item)` of each item, in order, computed up to `ahead` items before the caller asks,
    each in a session beside this one's. When this session sees rows that others cannot, each
    runs here, only when asked for. Either way, a result (or error) comes from its future."""
    if not sees_only_committed_rows():
        for item in items:
            yield _run_here(work, item)
        return
    pending: deque[Future[T]] = deque()
    for item in items:
        pending.append(_ahead_sessions.submit(_in_own_session, work, item))
        if len(pending) > ahead:
            yield pending.popleft()
    while pending:
        yield pending.popleft()
