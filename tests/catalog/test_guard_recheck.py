"""Filtered again after the fact: a catalog image that matches a newly registered generated image
is quarantined by a job, disappears from search, and staff can release it with an audit record."""

import pytest
from django.urls import reverse
from PIL import Image

from catalog.models import GuardRelease, ProductImage
from catalog.selectors import products_searchable
from catalog.services import product_image_create
from tests.catalog.guard_helpers import EDITS, encoded, register_as_generated
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_registering_a_generated_image_quarantines_matching_catalog_images(run_jobs):
    photo, other = dataset_photos(2)
    product = ProductFactory()
    resized = EDITS["half_size"](Image.open(photo))
    matching = product_image_create(product=product, data=resized)
    unrelated = product_image_create(product=ProductFactory(), data=other.read_bytes())

    # The shop's own concept: its quarantine reason may name the entry and the distance.
    entry = register_as_generated(photo, product.merchant)
    run_jobs()

    matching.refresh_from_db()
    assert matching.guard_status == "quarantined"
    assert f"generated image #{entry.pk}" in matching.guard_reason
    assert matching.guard_match == entry
    assert not products_searchable().filter(pk=product.pk).exists()
    unrelated.refresh_from_db()
    assert unrelated.guard_status == "passed"


def test_an_identical_picture_in_other_bytes_is_quarantined_by_its_pdq_distance_of_zero(run_jobs):
    photo = dataset_photos(1)[0]
    product = ProductFactory()
    as_png = product_image_create(product=product, data=encoded(Image.open(photo), "PNG"))

    register_as_generated(photo, product.merchant)
    run_jobs()

    as_png.refresh_from_db()
    assert as_png.guard_status == "quarantined"
    assert "PDQ hash 0 of 256 bits away" in as_png.guard_reason


@pytest.mark.parametrize("edit", ["centre_crop_10", "framed_on_page"])
def test_a_catalog_photo_cut_from_or_framing_a_new_generated_image_is_quarantined(edit, run_jobs):
    """The re-check finds a catalog photo that is a crop of the registered image, and one that
    shows it inside a larger picture (a smaller copy on a page), already in the catalog."""
    photo, other = dataset_photos(2)
    product = ProductFactory()
    copy = product_image_create(product=product, data=EDITS[edit](Image.open(photo)))
    unrelated = product_image_create(product=ProductFactory(), data=other.read_bytes())

    entry = register_as_generated(photo, product.merchant)
    run_jobs()

    copy.refresh_from_db()
    unrelated.refresh_from_db()
    assert copy.guard_status == "quarantined" and copy.guard_match == entry
    assert "matching local features" in copy.guard_reason
    assert unrelated.guard_status == "passed"


def test_staff_release_a_false_positive_in_the_admin_with_an_audit_record(client, run_jobs):
    photo = dataset_photos(1)[0]
    product = ProductFactory()
    image = product_image_create(product=product, data=photo.read_bytes())
    entry = register_as_generated(photo, MerchantFactory())
    run_jobs()
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    changelist = reverse("admin:catalog_productimage_changelist")
    listing = client.get(changelist + "?guard_status=quarantined")
    # Another shop's concept: the reason is generic, the guard_match column names the entry.
    assert f"Generated #{entry.pk}" in listing.content.decode()
    assert f"generated image #{entry.pk}" not in listing.content.decode()
    response = client.post(
        reverse("admin:catalog_guardrelease_add"),
        {"image": image.pk, "note": "Our own studio photo, shot in 2024."},
    )

    assert response.status_code == 302
    image.refresh_from_db()
    assert image.guard_status == "passed"
    release = GuardRelease.objects.get()
    assert release.released_by == staff and release.entry == entry
    assert "generated image" in release.quarantine_reason
    assert products_searchable().filter(pk=product.pk).exists()
    # A later re-check for the same entry leaves the released image alone.
    from catalog.tasks import recheck_catalog_against

    recheck_catalog_against(entry_id=entry.pk)
    assert ProductImage.objects.get(pk=image.pk).guard_status == "passed"


def test_a_merchant_cannot_release_quarantines(client):
    merchant_staff = UserFactory(is_staff=True)
    client.force_login(merchant_staff)

    assert client.get(reverse("admin:catalog_guardrelease_add")).status_code == 403


def test_the_catalog_keypoint_index_is_retrained_as_the_catalog_grows(run_jobs):
    """Built on an empty catalog, the index's lists are random centres; once the catalog has
    grown tenfold they are computed again from its rows, and the re-check still finds a copy."""
    from django.db import connection

    from catalog.guard import keypoint_index
    from catalog.models import ProductImageKeypoint

    with connection.cursor() as cursor:  # as migrated: never trained
        cursor.execute(f"COMMENT ON INDEX {keypoint_index.INDEX} IS NULL")
    photo, *others = dataset_photos(3)
    product = ProductFactory()
    copy = product_image_create(product=product, data=EDITS["centre_crop_10"](Image.open(photo)))
    for other in others:
        product_image_create(product=ProductFactory(), data=other.read_bytes())
    rows = ProductImageKeypoint.objects.count()

    assert not keypoint_index.retrain_if_grown(min_rows=rows + 1)  # too few rows yet
    assert keypoint_index.rows_trained_on() == 0
    with connection.cursor() as cursor:  # what a rebuild killed half-way leaves behind
        cursor.execute(
            f"CREATE INDEX {keypoint_index.INDEX}_ccnew ON {keypoint_index.TABLE} (image_id)"
        )
    assert keypoint_index.retrain_if_grown(min_rows=rows)
    assert keypoint_index.rows_trained_on() == rows
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE %s", [f"{keypoint_index.INDEX}%"]
        )
        assert [name for (name,) in cursor.fetchall()] == [keypoint_index.INDEX]
    assert not keypoint_index.retrain_if_grown(min_rows=rows)  # not grown tenfold since

    entry = register_as_generated(photo, product.merchant)
    run_jobs()
    copy.refresh_from_db()
    assert copy.guard_status == "quarantined" and copy.guard_match == entry
