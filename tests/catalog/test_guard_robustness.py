"""A small run of bench/guard.py: every edit of a registered photo is refused, real photos pass."""

import sys

import pytest

from tests.conftest import dataset_photos

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_edited_copies_are_refused_and_real_photos_pass():
    from django.conf import settings

    sys.path.insert(0, str(settings.BASE_DIR / "bench"))
    import guard  # bench/guard.py

    registered = dataset_photos(12, split="validation")
    real = dataset_photos(60, split="train")

    results = guard.measure(registered, real, progress=False)

    recalls = {name: attack["recall"] for name, attack in results["attacks"].items()}
    assert min(recalls.values()) >= 11 / 12, recalls
    assert results["false_positives"] == 0, results["false_positive_examples"]


def test_the_benchmark_fills_the_registry_with_entries_that_match_nothing():
    from django.conf import settings

    sys.path.insert(0, str(settings.BASE_DIR / "bench"))
    import guard  # bench/guard.py

    from catalog.models import GeneratedImage, RegistryKeypoint

    entries = guard.register(dataset_photos(2, split="validation"))
    guard.fill_registry_to(32)
    guard.fill_registry_to(40)  # a kept database is topped up

    assert GeneratedImage.objects.count() == 40
    assert RegistryKeypoint.objects.count() == 40 * 128
    assert guard.fill_registry_to(40) is None
    assert guard.register(dataset_photos(2, split="validation")) == entries  # reused
    assert GeneratedImage.objects.count() == 40
    match, _seconds = guard.check(dataset_photos(1, split="train")[0].read_bytes())
    assert match is None
