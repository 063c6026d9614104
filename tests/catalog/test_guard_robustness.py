"""A small run of bench/guard.py: copies of registered photos, edited in every class of
bench/edits.py, are refused; real photos, look-alikes included, pass."""

import sys

import pytest

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
