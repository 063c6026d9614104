"""Indexing through the queue: every imported image gets a vector; new products become findable."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models.functions import Now

from catalog.models import Merchant, ProductImage
from catalog.services import product_create_with_image
from retrieval.encoders import get_encoder
from retrieval.models import ImageEmbedding, PendingImage, ProductEmbedding
from retrieval.selectors import image_neighbours
from tests.conftest import dataset_photos

# The worker runs on its own connection, so the data must really be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_imported_photos_get_vectors_and_a_new_product_becomes_searchable(photo_folder, run_jobs):
    call_command("import_catalog", str(photo_folder(30)), stdout=None)
    encoder = get_encoder()

    run_jobs()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), min(vector_dims(vector)), max(vector_dims(vector)) "
            "FROM retrieval_imageembedding WHERE encoder = %s",
            [encoder.identity],
        )
        assert cursor.fetchone() == (30, encoder.dim, encoder.dim)
    assert ProductEmbedding.objects.filter(encoder=encoder.identity).count() == 30

    # A product added afterwards: its job runs, and its own image is its nearest neighbour.
    photo = dataset_photos(1, split="validation")[0]
    product = product_create_with_image(
        merchant=Merchant.objects.get(slug="demo"),
        data=photo.read_bytes(),
        title="Late arrival",
        price="10.00",
    )
    image = product.images.get()
    assert not ImageEmbedding.objects.filter(image=image).exists()

    run_jobs()

    own_vector = ImageEmbedding.objects.get(image=image, encoder=encoder.identity).vector
    nearest = list(image_neighbours(query_vector=own_vector, encoder=encoder, limit=3))
    assert nearest[0].image_id == image.pk
    assert nearest[0].distance == pytest.approx(0, abs=1e-3)


def test_nearest_neighbour_query_uses_the_encoders_hnsw_index(photo_folder, run_jobs):
    call_command("import_catalog", str(photo_folder(10)), stdout=None)
    run_jobs()
    encoder = get_encoder()
    query = image_neighbours(query_vector=[0.1] * encoder.dim, encoder=encoder, limit=5)

    with connection.cursor() as cursor:
        # 10 rows: the planner would scan and sort otherwise (once autovacuum has analysed them).
        cursor.execute(
            "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off"
        )
        plan = query.explain()
        cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort")

    assert "retrieval_imageembedding_hnsw_" in plan


def test_images_announced_twice_are_embedded_once(photo_folder, run_jobs):
    call_command("import_catalog", str(photo_folder(4)), stdout=None)
    from retrieval.tasks import embedding_job_defer

    embedding_job_defer()  # a second announcement must not duplicate work or rows
    run_jobs()
    run_jobs()

    assert ImageEmbedding.objects.count() == ProductImage.objects.count() == 4


def _late_product(title: str, n: int = 0):
    photo = dataset_photos(n + 1, split="validation")[n]
    return product_create_with_image(
        merchant=Merchant.objects.get(slug="demo"), data=photo.read_bytes(), title=title, price="9"
    )


def test_new_images_are_found_in_the_backlog_and_a_periodic_full_scan_finds_the_rest(
    photo_folder, run_jobs, monkeypatch
):
    from retrieval import indexing

    call_command("import_catalog", str(photo_folder(6)), stdout=None)
    run_jobs()
    identity = get_encoder().identity
    assert ImageEmbedding.objects.filter(encoder=identity).count() == 6
    assert not PendingImage.objects.exists()

    def embed(*, full_scan: bool) -> int:
        if full_scan:
            monkeypatch.delitem(indexing._last_full_scan, identity, raising=False)
        else:
            monkeypatch.setitem(indexing._last_full_scan, identity, time.monotonic())
        return indexing.embed_pending_images()

    # A new image joins the backlog in the database and is found without a scan of the catalog.
    image = _late_product("Late arrival").images.get()
    assert list(PendingImage.objects.values_list("image_id", flat=True)) == [image.pk]
    assert embed(full_scan=False) == 1
    assert not PendingImage.objects.exists()

    # A vector lost some other way: the backlog cannot tell, the full scan does.
    lost = ProductImage.objects.order_by("pk").first()
    ImageEmbedding.objects.filter(image=lost).delete()
    assert embed(full_scan=False) == 0
    assert embed(full_scan=True) == 1
    assert ImageEmbedding.objects.filter(image=lost, encoder=identity).count() == 1

    # A backlog row of an image that has its vector (a bulk load) goes, nothing re-embedded.
    PendingImage.objects.create(image=lost)
    assert embed(full_scan=True) == 0
    assert not PendingImage.objects.exists()
    assert ImageEmbedding.objects.filter(encoder=identity).count() == 7

    # A deleted image leaves no backlog row behind.
    _late_product("Gone before indexing", 1).delete()
    assert not PendingImage.objects.exists()


def _lexicon_has(word: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM retrieval_search_lexicon WHERE word = %s", [word])
        return cursor.fetchone() is not None


def _waiting_refreshes() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT scheduled_at > now() + interval '20 seconds' FROM procrastinate_jobs "
            "WHERE task_name = 'retrieval.refresh_lexicon' AND status = 'todo'"
        )
        return cursor.fetchall()


def test_an_unreadable_image_is_tried_again_later_each_time_later_and_embedded_once_restored(
    photo_folder, run_jobs, monkeypatch
):
    from retrieval import indexing

    call_command("import_catalog", str(photo_folder(2)), stdout=None)
    run_jobs()
    monkeypatch.setitem(indexing._last_full_scan, get_encoder().identity, time.monotonic())
    image = _late_product("Broken file").images.get()
    original = image.file.read()
    image.file.close()
    path = Path(image.file.path)
    path.write_bytes(b"not an image any more")

    def pending() -> tuple[int, float]:
        """(failed reads, seconds until the next try)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT failed_reads, extract(epoch FROM retry_at - now()) "
                "FROM retrieval_pendingimage WHERE image_id = %s",
                [image.pk],
            )
            reads, wait = cursor.fetchone()
        return reads, float(wait)

    def time_passes() -> None:
        PendingImage.objects.filter(image=image).update(retry_at=Now() - timedelta(seconds=1))

    # The read fails: the image stays in the backlog, but no sweep or job tries it again
    # before its time, not even a full scan of the catalog.
    assert indexing.embed_pending_images() == 0
    reads, wait = pending()
    assert reads == 1 and 50 < wait <= indexing.READ_RETRY_FIRST_S
    assert not indexing.backlog_waiting()
    monkeypatch.delitem(indexing._last_full_scan, get_encoder().identity)
    assert indexing.embed_pending_images() == 0
    assert pending()[0] == 1

    # Its time comes and the file is still broken: the next try is twice as far off.
    time_passes()
    assert indexing.backlog_waiting()
    assert indexing.embed_pending_images() == 0
    reads, wait = pending()
    assert reads == 2 and 110 < wait <= 2 * indexing.READ_RETRY_FIRST_S

    # Restored (a storage outage over): embedded at its next try, and out of the backlog.
    path.write_bytes(original)
    time_passes()
    assert indexing.embed_pending_images() == 1
    assert ImageEmbedding.objects.filter(image=image).count() == 1
    assert not PendingImage.objects.exists()
    assert ImageEmbedding.objects.count() == 3


def test_indexing_jobs_share_one_delayed_lexicon_refresh(photo_folder, run_jobs, settings):
    """A refresh reads the whole catalog: during an import, the indexing jobs that catch up
    every few seconds wait for one refresh, FIDELIS_LEXICON_REFRESH_DELAY_S later."""
    settings.FIDELIS_LEXICON_REFRESH_DELAY_S = 30
    call_command("import_catalog", str(photo_folder(2)), stdout=None)
    run_jobs()

    _late_product("Zebracorn scarf", 0)
    run_jobs()
    _late_product("Quokkaline beanie", 1)
    run_jobs()

    assert _waiting_refreshes() == [(True,)]  # one, 30 s ahead, for both jobs
    assert not _lexicon_has("zebracorn")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
    run_jobs()
    assert _waiting_refreshes() == []
    assert _lexicon_has("zebracorn")


def test_a_queue_worker_gathers_images_still_arriving_into_one_batch(photo_folder, monkeypatch):
    """A worker keeping up with an import finds an image or two each time it looks (a batch of
    one costs twice the CPU an image): while more keep arriving it waits for them, and a lone
    image waits one step only."""
    from types import SimpleNamespace

    from retrieval import indexing

    call_command("import_catalog", str(photo_folder(7)), stdout=None)
    identity = get_encoder().identity
    monkeypatch.setitem(indexing._last_full_scan, identity, time.monotonic())  # backlog only
    images = list(ProductImage.objects.order_by("pk"))
    PendingImage.objects.filter(image__in=images[2:]).delete()  # 2 waiting, the rest to come
    arriving = [images[2:4], images[4:6]]
    steps = []

    def sleep(seconds: float) -> None:  # the import commits more images while the worker waits
        steps.append(seconds)
        if arriving:
            PendingImage.objects.bulk_create(PendingImage(image=image) for image in arriving.pop(0))

    monkeypatch.setattr(indexing, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    batches = []
    assert indexing.embed_pending_images(on_batch=batches.append, gather_s=60) == 6
    assert batches == [6]  # 2 waiting + 2 + 2 arrived; then a step with nothing new ended it
    assert len(steps) == 3

    # Nothing arriving: the last image is embedded after one step, not after 60 s.
    PendingImage.objects.create(image=images[6])
    steps.clear()
    batches.clear()
    assert indexing.embed_pending_images(on_batch=batches.append, gather_s=60) == 1
    assert (batches, len(steps)) == ([1], 1)

    # Without gathering (in-process indexing: demo, reindex) the batch is what is waiting.
    ImageEmbedding.objects.filter(image__in=images[:2]).delete()
    PendingImage.objects.bulk_create(PendingImage(image=image) for image in images[:2])
    arriving.append(images[2:4])
    steps.clear()
    batches.clear()
    assert indexing.embed_pending_images(on_batch=batches.append) == 2
    assert (batches, steps) == ([2], [])
