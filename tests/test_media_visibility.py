"""A shopper reaches a product photo only while its product is searchable."""

from decimal import Decimal

import pytest
from django.core.files.storage import storages

from catalog.models import ProductImage
from catalog.services import merchant_create, product_create_with_image
from tests.conftest import dataset_photos
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed():
    shop = merchant_create(name="Shop A", slug="shop-a")
    product = product_create_with_image(
        merchant=shop, data=dataset_photos(1)[0].read_bytes(), title="Coat", price=Decimal(9)
    )
    image = product.images.get()
    return product, image, f"/media/{image.file.name}"


def test_a_searchable_products_photo_is_served_with_a_short_public_cache(client, listed):
    _, image, url = listed

    response = client.get(url)

    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == image.file.open("rb").read()
    assert response["Cache-Control"] == "public, max-age=60"
    assert client.head(url).status_code == 200  # caches and CDNs may ask first


@pytest.mark.parametrize("how", ["quarantined", "inactive", "unpublished", "deleted"])
def test_a_hidden_products_photo_answers_404_to_shoppers(client, listed, how):
    product, image, url = listed
    if how == "quarantined":
        ProductImage.objects.filter(pk=image.pk).update(guard_status="quarantined")
    elif how == "inactive":
        product.is_active = False
        product.save()
    elif how == "unpublished":
        product.merchant.is_published = False
        product.merchant.save()
    else:
        product.delete()

    assert client.get(url).status_code == 404
    assert client.get("/media/products/no-such-file.jpg").status_code == 404


def test_the_merchant_still_sees_its_quarantined_photo_and_another_merchant_does_not(
    client, listed
):
    product, image, url = listed
    ProductImage.objects.filter(pk=image.pk).update(guard_status="quarantined")
    other = merchant_create(name="Shop B", slug="shop-b")

    client.force_login(merchant_user(product.merchant))
    own = client.get(url)
    client.force_login(merchant_user(other, username="b-user"))
    theirs = client.get(url)

    assert own.status_code == 200 and own["Cache-Control"] == "private, no-store"
    assert theirs.status_code == 404


def test_private_storage_never_produces_a_url():
    with pytest.raises(ValueError, match="no URL"):
        storages["private"].url("generated/1/image.png")
