"""A close variation (high fidelity) looks like the real photo it was made from: the guard keeps
refusing the concept, but never the real photo."""

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image, ImageEnhance

from catalog.services import (
    catalog_recheck_against,
    generated_image_register,
    product_image_create,
)
from tests.catalog.guard_helpers import crop, encoded
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db


def near_identical(photo) -> bytes:
    """More contrast (PDQ 10 of 256 bits away): a variation made at a high fidelity."""
    return encoded(ImageEnhance.Contrast(Image.open(photo)).enhance(1.5), quality=90)


@pytest.fixture
def real_photo_and_its_variation():
    """A merchant's real product photo, and a near-identical concept registered as made from it
    (what image-to-image at fidelity 0.95 gives with real weights)."""
    photo = dataset_photos(1)[0]
    merchant = MerchantFactory()
    source = product_image_create(
        product=ProductFactory(merchant=merchant), data=photo.read_bytes()
    )
    concept_bytes = near_identical(photo)
    concept = generated_image_register(
        merchant=merchant,
        data=concept_bytes,
        prompt="the same dress",
        seed=1,
        model_identity="tests",
        source_image=source,
        fidelity=0.95,
    )
    return photo, source, concept, concept_bytes


def test_registering_a_close_variation_leaves_its_real_source_photo_alone(
    real_photo_and_its_variation,
):
    photo, source, concept, _ = real_photo_and_its_variation
    # The same photo in another shop's catalog (a manufacturer's picture, re-encoded).
    copy = product_image_create(
        product=ProductFactory(), data=encoded(Image.open(photo), quality=80)
    )

    quarantined = catalog_recheck_against(entry=concept)

    assert quarantined == []
    for image in (source, copy):
        image.refresh_from_db()
        assert image.guard_status == "passed"


def test_the_real_photo_can_be_uploaded_again_but_the_concept_never(
    real_photo_and_its_variation,
):
    photo, _, concept, concept_bytes = real_photo_and_its_variation
    product = ProductFactory(merchant=concept.merchant)

    again = product_image_create(product=product, data=encoded(Image.open(photo), quality=85))

    assert again.guard_status == "passed"
    concept_image = Image.open(io.BytesIO(concept_bytes))
    refused = [
        concept_bytes,
        encoded(concept_image, quality=70),
        encoded(crop(concept_image, 0.1, 0.1, 0.1, 0.1)),
    ]
    for data in refused:
        with pytest.raises(ValidationError) as raised:
            product_image_create(product=product, data=data)
        assert raised.value.code == "generated_image"
        assert f"#{concept.pk}" in raised.value.messages[0]
    assert product.images.count() == 1


def test_without_a_recorded_source_the_same_concept_quarantines_the_photo():
    """The control: the rule, not a weak match, is what keeps the source photo."""
    photo = dataset_photos(1)[0]
    merchant = MerchantFactory()
    source = product_image_create(
        product=ProductFactory(merchant=merchant), data=photo.read_bytes()
    )
    concept = generated_image_register(
        merchant=merchant,
        data=near_identical(photo),
        prompt="the same dress",
        seed=1,
        model_identity="tests",
    )

    assert catalog_recheck_against(entry=concept) == [source]
