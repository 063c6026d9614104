"""Indexing through the queue: every imported image gets a vector; new products become findable."""

import pytest
from django.core.management import call_command
from django.db import connection

from catalog.models import Merchant, ProductImage
from catalog.services import product_create_with_image
from retrieval.encoders import get_encoder
from retrieval.models import ImageEmbedding, ProductEmbedding
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
