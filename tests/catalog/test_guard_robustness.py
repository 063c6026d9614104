"""A small run of bench/guard.py: copies of registered photos, edited in every class of
bench/edits.py, are refused; real photos, look-alikes included, pass."""

import sys

import pytest
from PIL import Image

from tests.conftest import dataset_photos

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# The share of copies refused per class that a small sample must reach (bench/guard.py measures
# every class on 500 photos; bench/results/guard.json holds the figures).
CLASS_RECALL = {
    "public": 1.0,
    "padded": 0.95,
    "rotated": 1.0,
    "framed": 0.9,
    "covered": 0.9,
    "combined": 0.85,
    "heavy crop": 0.7,
}


def _bench(name):
    from django.conf import settings

    sys.path.insert(0, str(settings.BASE_DIR / "bench"))
    return __import__(name)


def test_edited_copies_of_every_class_are_refused_and_real_photos_pass():
    guard, edits = _bench("guard"), _bench("edits")
    registered = dataset_photos(8, split="validation")
    real = dataset_photos(40, split="train")

    results = guard.measure(registered, real, progress=False)

    recall = {
        group: sum(results["edits"][name]["recall"] for name in names) / len(names)
        for group, names in edits.CLASSES.items()
    }
    assert {group: recall[group] >= floor for group, floor in CLASS_RECALL.items()} == {
        group: True for group in CLASS_RECALL
    }, recall
    assert results["false_positives"] == 0, results["false_positive_examples"]
    # Every copy let through is told apart: its entry never a candidate, or not verified.
    for result in results["edits"].values():
        missed = round(result["tried"] * (1 - result["recall"]))
        assert result["misses_not_voted"] + result["misses_not_verified"] == missed


def test_the_benchmark_fills_the_registry_with_entries_that_match_nothing():
    guard = _bench("guard")
    from catalog.fingerprints import REGISTERED_KEYPOINTS
    from catalog.models import GeneratedImage, RegistryKeypoint

    entries = guard.register(dataset_photos(2, split="validation"))
    guard.fill_registry_to(32)
    guard.fill_registry_to(40)  # a kept database is topped up

    assert GeneratedImage.objects.count() == 40
    assert RegistryKeypoint.objects.count() == 40 * REGISTERED_KEYPOINTS
    assert guard.fill_registry_to(40) is None
    assert guard.register(dataset_photos(2, split="validation")) == entries  # reused
    assert GeneratedImage.objects.count() == 40
    match, _seconds = guard.check(dataset_photos(1, split="train")[0].read_bytes())
    assert match is None


def test_a_copy_under_a_band_over_a_fifth_of_it_is_refused():
    # A band over a fifth of a pair of trousers on a plain background: its grayscale cells
    # disagree (median 0.92, under the 0.93 a copy needs; no other signal finds it), but 291
    # keypoints line up and the colours elsewhere are the same. (A pair of shoes, 2d986f3f,
    # was such a copy at 0.76 until entries kept 1,500 features, which align it at 0.98.)
    from django.core.exceptions import ValidationError

    from catalog import fingerprints
    from catalog.guard import thresholds
    from catalog.images import inspect_image
    from catalog.services import product_image_create
    from tests.catalog.guard_helpers import register_as_generated
    from tests.conftest import DATASET
    from tests.factories import MerchantFactory, ProductFactory

    (path,) = DATASET.glob("test/pants/a3e47bc3*.jpg")
    copy = _bench("edits").ALL["band_20"](Image.open(path))
    match = fingerprints.geometric_match(
        fingerprints.query_print(inspect_image(copy).image).upright,
        fingerprints.fingerprint(inspect_image(path.read_bytes()).image).upright,
    )
    assert match.agreement < thresholds.MIN_AGREEMENT  # grayscale alone would let it through
    merchant = MerchantFactory()
    register_as_generated(path, merchant)

    with pytest.raises(ValidationError) as refused:
        product_image_create(product=ProductFactory(merchant=merchant), data=copy)
    assert refused.value.code == "generated_image"
