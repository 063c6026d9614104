"""The one-round-trip read of a results page gives the same products as the ORM's."""

from decimal import Decimal

import pytest

from catalog.models import Product, ProductImage
from catalog.selectors import products_displayed, products_for_display
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SHOWN = ("id", "merchant_id", "title", "slug", "sku", "description", "price", "currency")


def _image(product, position, status=ProductImage.GuardStatus.PASSED):
    return ProductImage.objects.create(
        product=product,
        file=f"products/{product.pk}-{position}.jpg",
        sha256=f"{product.pk:032x}{position:032x}",
        width=400 + position,
        height=500,
        position=position,
        guard_status=status,
    )


def test_displayed_products_equal_the_orm_read():
    with_images = ProductFactory(price=Decimal("12.50"), stock_quantity=0, sku="SKU-1")
    _image(with_images, 2)
    _image(with_images, 1)
    _image(with_images, 0, status=ProductImage.GuardStatus.QUARANTINED)
    no_category = ProductFactory(category=None, description="Plain.")
    _image(no_category, 0)
    ids = [with_images.pk, no_category.pk]

    fast = products_displayed(ids)
    orm = products_for_display(Product.objects.filter(pk__in=ids)).in_bulk()

    assert fast.keys() == orm.keys()
    for pk, product in orm.items():
        shown = fast[pk]
        assert [getattr(shown, f) for f in SHOWN] == [getattr(product, f) for f in SHOWN]
        assert (shown.stock_quantity, shown.in_stock) == (product.stock_quantity, product.in_stock)
        assert (shown.category and shown.category.name) == (
            product.category and product.category.name
        )
        assert [(i.file.url, i.width, i.height) for i in shown.shown_images] == [
            (i.file.url, i.width, i.height) for i in product.shown_images
        ]
    # Only images that passed the guard, in their order on the product page.
    assert [i.position for i in fast[with_images.pk].shown_images] == [1, 2]
    assert fast[no_category.pk].category is None
