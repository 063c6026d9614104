"""Reads beside this session's: in a second session when it sees the same rows, else here."""

import pytest
from django.db import connection, transaction

from catalog.concurrent_reads import read_beside
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _merchant_names() -> list[str]:
    from catalog.models import Merchant

    return list(Merchant.objects.values_list("name", flat=True))


def test_a_read_runs_in_a_second_session_while_this_one_has_written_nothing():
    here = _backend_pid()

    assert read_beside(_backend_pid).result() != here
    with transaction.atomic():
        _merchant_names()
        assert read_beside(_backend_pid).result() != here


def test_after_a_write_in_the_open_transaction_the_read_runs_here_and_sees_the_write():
    with transaction.atomic():
        merchant = MerchantFactory()
        here = _backend_pid()

        assert read_beside(_backend_pid).result() == here
        assert read_beside(_merchant_names).result() == [merchant.name]


def test_an_error_in_the_read_comes_back_from_its_result():
    def failing():
        raise ValueError("no such thing")

    with pytest.raises(ValueError, match="no such thing"):
        read_beside(failing).result()


def test_when_every_second_session_is_busy_the_read_runs_here():
    import threading
    import time

    from catalog.concurrent_reads import SECOND_SESSIONS

    release = threading.Event()
    busy = [read_beside(release.wait) for _ in range(SECOND_SESSIONS)]
    try:
        assert read_beside(_backend_pid).result() == _backend_pid()
    finally:
        release.set()
    assert all(future.result() for future in busy)
    # Once they are done, the next read goes to a second session again (the sessions are
    # handed back just after their results are set).
    for _ in range(100):
        if read_beside(_backend_pid).result() != _backend_pid():
            break
        time.sleep(0.01)
    else:
        pytest.fail("the second sessions were never free again")


def test_work_ahead_runs_before_it_is_asked_for_in_other_sessions_in_order():
    import threading

    from catalog.concurrent_reads import map_ahead

    here = _backend_pid()
    started: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> tuple[int, int]:
        with lock:
            started.append(n)
        return n, _backend_pid()

    results = map_ahead(work, range(6), ahead=2)
    first = next(results).result()
    assert first[0] == 0 and first[1] != here
    for _ in range(100):  # the next two start on their own, before anyone asks for them
        if {1, 2} <= set(started):
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("nothing ran ahead")
    rest = [future.result() for future in results]
    assert [n for n, _ in rest] == [1, 2, 3, 4, 5]
    assert all(pid != here for _, pid in rest)


def test_work_ahead_runs_here_when_asked_for_after_a_write_in_the_open_transaction():
    from catalog.concurrent_reads import map_ahead

    def failing(n: int):
        raise ValueError(f"item {n} is bad")

    with transaction.atomic():
        merchant = MerchantFactory()
        here = _backend_pid()
        results = map_ahead(lambda _: (_backend_pid(), _merchant_names()), range(2), ahead=2)
        assert [future.result() for future in results] == [(here, [merchant.name])] * 2
        errors = map_ahead(failing, range(2), ahead=2)
        with pytest.raises(ValueError, match="item 0 is bad"):
            next(errors).result()
