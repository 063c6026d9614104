"""The admin as merchants use it: each merchant sees and edits only its own products."""

import pytest
from django.urls import reverse

import catalog.services.images
from catalog.models import Product, ProductImage
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, ProductFactory, merchant_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops(client):
    shop_a, shop_b = MerchantFactory(name="Shop A"), MerchantFactory(name="Shop B")
    own = ProductFactory(merchant=shop_a, title="Alpha jacket")
    foreign = ProductFactory(merchant=shop_b, title="Bravo boots")
    client.force_login(merchant_user(shop_a))
    return shop_a, own, foreign


def test_merchant_lists_only_its_own_products(client, two_shops):
    _, own, foreign = two_shops

    page = client.get(reverse("admin:catalog_product_changelist")).content.decode()

    assert own.title in page
    assert foreign.title not in page


def test_merchant_cannot_open_or_edit_another_merchants_product(client, two_shops):
    _, _, foreign = two_shops
    url = reverse("admin:catalog_product_change", args=[foreign.pk])

    opened = client.get(url)
    posted = client.post(url, {"title": "Hijacked", "slug": "x", "price": "1", "currency": "EUR"})

    assert opened.status_code == 302 and opened.url == reverse("admin:index")
    assert posted.status_code == 302
    foreign.refresh_from_db()
    assert foreign.title == "Bravo boots"


def test_merchant_cannot_delete_another_merchants_product(client, two_shops):
    _, _, foreign = two_shops

    client.post(reverse("admin:catalog_product_delete", args=[foreign.pk]), {"post": "yes"})

    assert Product.objects.filter(pk=foreign.pk).exists()


def inline_post(product_fields: dict, upload) -> dict:
    return {
        **product_fields,
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-file": upload,
        "images-0-position": "0",
    }


def test_merchant_adds_a_product_with_a_photo_for_its_own_shop(client, two_shops, monkeypatch):
    shop_a, _, _ = two_shops
    photo = dataset_photos(1)[0]
    fields = {"title": "New hat", "slug": "new-hat", "price": "12.50", "currency": "EUR"}
    fields |= {"stock_quantity": "3", "is_active": "on", "sku": ""}
    fields |= {"availability": "in_stock", "condition": "new"}
    checks = []
    real_check = catalog.services.images.image_guard_check
    monkeypatch.setattr(
        catalog.services.images,
        "image_guard_check",
        lambda **kwargs: checks.append(kwargs["sha256"]) or real_check(**kwargs),
    )

    with photo.open("rb") as upload:
        response = client.post(
            reverse("admin:catalog_product_add"), inline_post(fields, upload), follow=True
        )

    assert response.status_code == 200
    product = Product.objects.get(title="New hat")
    assert product.merchant == shop_a
    image = product.images.get()
    assert image.width > 0 and image.guard_status == "passed" and image.pdq
    assert checks == [image.sha256]  # checked once: on validation, not again on save


def test_a_corrupt_upload_is_refused_and_nothing_is_written(client, two_shops, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(dataset_photos(1)[0].read_bytes()[:2000])
    fields = {"title": "Broken", "slug": "broken", "price": "5", "currency": "EUR"}
    fields |= {"stock_quantity": "1", "sku": ""}

    with broken.open("rb") as upload:
        response = client.post(reverse("admin:catalog_product_add"), inline_post(fields, upload))

    assert response.status_code == 200  # the form again, with the error
    assert not Product.objects.filter(title="Broken").exists()
    assert ProductImage.objects.count() == 0


def test_shopper_without_merchant_cannot_reach_the_admin(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())

    response = client.get(reverse("admin:catalog_product_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response.url


def test_merchant_cannot_delete_another_merchants_image_in_the_image_admin(client, two_shops):
    _, _, foreign = two_shops
    image = ProductImage.objects.create(
        product=foreign, file="products/x.jpg", sha256="0" * 64, width=8, height=8
    )
    url = reverse("admin:catalog_productimage_delete", args=[image.pk])

    opened = client.get(url)
    posted = client.post(url, {"post": "yes"})

    assert opened.status_code == 403 and foreign.title not in opened.content.decode()
    assert posted.status_code == 403
    assert ProductImage.objects.filter(pk=image.pk).exists()


def test_merchant_cannot_bulk_delete_images_from_the_image_list(client, two_shops):
    _, own, foreign = two_shops
    images = [
        ProductImage.objects.create(
            product=product, file=f"products/{n}.jpg", sha256=str(n) * 64, width=8, height=8
        )
        for n, product in enumerate([own, foreign])
    ]

    client.post(
        reverse("admin:catalog_productimage_changelist"),
        {"action": "delete_selected", "_selected_action": [i.pk for i in images], "post": "yes"},
    )

    assert ProductImage.objects.count() == 2
