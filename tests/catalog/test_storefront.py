"""Storefront pages as shoppers see them."""

import pytest
from django.urls import reverse

from catalog.services import product_create_with_image
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    shop = MerchantFactory()
    photos = dataset_photos(3)
    visible = product_create_with_image(
        merchant=shop, data=photos[0].read_bytes(), title="Navy shirt", price="20"
    )
    hidden = product_create_with_image(
        merchant=shop, data=photos[1].read_bytes(), title="Retired hat", price="9", is_active=False
    )
    return visible, hidden


def test_home_lists_active_products_with_their_images(client, catalog):
    visible, hidden = catalog

    page = client.get(reverse("storefront:home")).content.decode()

    assert visible.title in page and hidden.title not in page
    assert visible.images.get().file.url in page


def test_product_images_are_served(client, catalog):
    visible, _ = catalog

    response = client.get(visible.images.get().file.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_product_page_shows_price_and_stock(client, catalog):
    visible, hidden = catalog

    page = client.get(reverse("storefront:product", args=[visible.pk, visible.slug]))
    gone = client.get(reverse("storefront:product", args=[hidden.pk, hidden.slug]))

    assert "20.00 EUR" in page.content.decode()
    assert gone.status_code == 404


def test_random_weight_profile_shows_a_banner_on_every_page(client, catalog, settings):
    visible, _ = catalog
    urls = [reverse("storefront:home"), reverse("storefront:product", args=[visible.pk, "x"])]

    assert all("random weights" in client.get(u).content.decode() for u in urls)

    settings.FIDELIS_ENCODER, settings.FIDELIS_ENCODER_WEIGHTS = "ViT-B-32", "laion2b_s34b_b79k"
    assert "random weights" not in client.get(urls[0]).content.decode()
