"""Smaller holes closed: the create quota under concurrency, what a quarantine tells another
merchant, the lexicon's words, the database role, and readable nested errors."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog.guard import GuardMatch
from catalog.models import GeneratedImage, Product
from catalog.services import (
    generated_image_register,
    merchant_create,
    product_create_with_image,
    product_image_quarantine,
)
from creation.models import CreateJob
from creation.services import CreateRequest, QuotaExceeded, create_job_submit
from retrieval.keyword import correct_spelling, lexicon_refresh
from tests.conftest import dataset_photos
from tests.factories import merchant_user


@pytest.mark.django_db(transaction=True)
def test_concurrent_create_requests_cannot_exceed_the_quota(settings):
    settings.FIDELIS_CREATE_JOBS_PER_HOUR = 1
    shop = merchant_create(name="Shop", slug="shop")
    user = merchant_user(shop)
    start, outcomes = threading.Barrier(6), []

    def submit():
        start.wait()
        try:
            create_job_submit(merchant=shop, user=user, request=CreateRequest(prompt="hat"))
            outcomes.append("created")
        except QuotaExceeded as refused:
            outcomes.append(refused.get_codes())
        except Exception as error:
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["created"] + ["quota_exceeded"] * 5
    assert CreateJob.objects.filter(merchant=shop).count() == 1


def registry_entry(merchant, prompt: str) -> GeneratedImage:
    photo = dataset_photos(3)[2 if prompt == "mine" else 1]
    return generated_image_register(
        merchant=merchant, data=photo.read_bytes(), prompt=prompt, seed=1, model_identity="m"
    )


@pytest.mark.django_db(transaction=True)  # registering is a durable transaction of its own
def test_a_quarantine_by_another_merchants_concept_does_not_name_it():
    (first,) = dataset_photos(1)
    mine = merchant_create(name="Mine", slug="mine")
    theirs = merchant_create(name="Theirs", slug="theirs")
    product = product_create_with_image(
        merchant=mine, data=first.read_bytes(), title="Coat", price=Decimal(9)
    )
    entry, own_entry = registry_entry(theirs, "secret prompt"), registry_entry(mine, "mine")
    image = product.images.get()

    product_image_quarantine(image=image, match=GuardMatch("pdq", entry.pk, bits=3))
    foreign_reason = Product.objects.get(pk=product.pk).images.get().guard_reason
    product_image_quarantine(image=image, match=GuardMatch("pdq", own_entry.pk, bits=3))
    own_reason = product.images.get().guard_reason

    assert f"#{entry.pk}" not in foreign_reason and "3 of 256" not in foreign_reason
    assert "registry of generated images" in foreign_reason
    assert f"#{own_entry.pk}" in own_reason  # its own concept is named, to help it find it


@pytest.mark.django_db
def test_the_lexicon_holds_only_searchable_products_words():
    shop = merchant_create(name="Shop", slug="shop")
    first, second = dataset_photos(2)
    shown = product_create_with_image(
        merchant=shop, data=first.read_bytes(), title="Cardigan", price=Decimal(9)
    )
    hidden = product_create_with_image(
        merchant=shop, data=second.read_bytes(), title="Zanzibarine", price=Decimal(9)
    )
    hidden.is_active = False
    hidden.save()

    lexicon_refresh()

    assert correct_spelling("cardigam") == ["cardigan"]  # a searchable word is offered
    assert correct_spelling("zanzibarin") == ["zanzibarin"]  # a hidden one never
    assert shown.pk


@pytest.mark.django_db
def test_the_app_connects_as_a_role_that_owns_its_tables_and_is_no_superuser():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser'), current_user")
        superuser, role = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> %s",
            [role],
        )
        foreign_tables = cursor.fetchone()[0]

    assert superuser == "off"
    assert foreign_tables == 0


@pytest.mark.django_db
def test_nested_field_errors_read_as_sentences_not_python_reprs(client):
    client.force_login(merchant_user(merchant_create(name="Shop", slug="shop")))

    response = client.post("/api/v1/studio/boards/", {"name": ""}, content_type="application/json")

    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "blank"
    assert "ErrorDetail" not in error["message"] and "{" not in error["message"]
    assert error["fields"] == {"name": ["This field may not be blank."]}
