"""Real photos that look alike are not copies: different garments shot the same way, and the same
garment shot twice, pass the guard; a photo filed twice under two names, or cropped, is a copy."""

import pytest
from django.core.exceptions import ValidationError

from catalog.services import product_image_create
from tests.catalog.guard_helpers import register_as_generated
from tests.conftest import DATASET
from tests.factories import MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db

# Pairs under train/ that the old guard confused (pHash <= 4 bits of 64: the same hanger, the
# same floor), the nearest two different photos by PDQ (the same skirt shot twice, once with
# its tag: 44 of 256 bits), and the pair with most verified-looking local features (two black
# sweaters on the same wooden floor: 100 inliers), and the pair that all pairs once found (a
# blue and a red t-shirt of one cut on one bed: 19 inliers along the outline, agreement 0.93),
# and two pairs with many keypoints in line but pixels that differ (two t-shirts with one
# print: 208 inliers, 42% of those in the overlap, agreement 0.36; two hats: 179, 36%, 0.56),
# and an orange and a pink t-shirt on one patterned bedspread (275 inliers, 56%, agreement
# 0.92: only their colours tell them apart).
LOOKALIKES = [
    ("t-shirt/955d8981", "t-shirt/ac2b8fd1"),
    ("dress/6e143162", "dress/6eaff8d0"),
    ("pants/81c98fb1", "pants/8db4d594"),
    ("pants/a88db2dc", "pants/d12a6fde"),
    ("pants/c9b68fc2", "pants/ef6d60c5"),
    ("t-shirt/915c3845", "t-shirt/cbceafc9"),
    ("skirt/02341619", "skirt/78b7da73"),
    ("longsleeve/02c1ab8", "longsleeve/e1e4439"),
    ("t-shirt/3fc85a3e", "t-shirt/fa9757e7"),
    ("t-shirt/37f4410f", "t-shirt/b5a55ab1"),
    ("hat/79307c6e", "hat/5e944547"),
    # shot again closer and out of focus, the t-shirt unmoved: a perspective view of it
    ("t-shirt/2475c540", "t-shirt/ff3f01d5"),
]


def train_photo(prefix: str):
    (path,) = (DATASET / "train").glob(f"{prefix}*.jpg")
    return path


@pytest.mark.parametrize(("registered", "uploaded"), LOOKALIKES + [(b, a) for a, b in LOOKALIKES])
def test_a_look_alike_real_photo_passes(registered, uploaded):
    merchant = MerchantFactory()
    register_as_generated(train_photo(registered), merchant)

    image = product_image_create(
        product=ProductFactory(merchant=merchant), data=train_photo(uploaded).read_bytes()
    )

    assert image.guard_status == "passed"


# Real copies among the shared photos: one photo filed twice under two names, and a photo of a
# dress with a resized crop of it (one similarity transform of scale 1 fits their matches).
REAL_COPIES = [("shorts/6075b4a5", "skirt/637a56e4"), ("dress/e6a8b33f", "dress/b59e4d4a")]


@pytest.mark.parametrize(("registered", "uploaded"), REAL_COPIES + [(b, a) for a, b in REAL_COPIES])
def test_a_real_copy_among_the_photos_is_refused(registered, uploaded):
    merchant = MerchantFactory()
    register_as_generated(train_photo(registered), merchant)

    with pytest.raises(ValidationError) as refused:
        product_image_create(
            product=ProductFactory(merchant=merchant),
            data=train_photo(uploaded).read_bytes(),
        )
    assert refused.value.code == "generated_image"
