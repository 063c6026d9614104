"""./fidelis demo loads its shop the way a real shop would: a generated Merchant Center feed,
imported with import_feed; a second run changes nothing and repairs what was lost."""

import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client

from catalog.models import Product, ProductImage

# The demo indexes its images, which creates the vector index outside any test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def demo(folder) -> str:
    out = io.StringIO()
    call_command("demo", str(folder), no_serve=True, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_demo_imports_a_feed_and_a_second_run_restores_a_deleted_image(
    photo_folder, settings, tmp_path
):
    settings.VAR_DIR = tmp_path / "var"
    folder = photo_folder(20)

    out = demo(folder)

    assert "20 rows: 20 created" in out
    feed = list(csv.DictReader((settings.VAR_DIR / "demo-feed.csv").open()))
    assert [row["image_link"] for row in feed][:2] == [
        p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*.jpg"))[:2]
    ]
    products = Product.objects.filter(merchant__slug="demo")
    assert products.count() == 20 and ProductImage.objects.count() == 20
    assert all(p.brand and p.color and p.size and p.gtin for p in products)
    assert products.exclude(item_group_id="").count() >= 2
    assert products.filter(sale_price__isnull=False).exists() or len(feed) < 16

    # The demo shop's synonyms: a shopper's "jeans" finds the catalog's trousers.
    trousers = products.filter(title__contains="Trousers").first()
    body = Client().get("/api/v1/search/", {"q": f"{trousers.color.lower()} jeans"}).json()
    assert trousers.pk in [hit["product"]["id"] for hit in body["results"]]
    blues = products.filter(title__contains="Trousers", color__in=["Navy", "Sky"])
    body = Client().get("/api/v1/search/", {"q": "blue jeans", "page_size": 100}).json()
    found = {hit["product"]["id"] for hit in body["results"]}
    assert body["recovery"] is None and set(blues.values_list("pk", flat=True)) == found

    # The demo's judgement list, from the dataset's labels, scores the search.
    scored = io.StringIO()
    call_command("search_eval", merchant="demo", stdout=scored)
    overall = scored.getvalue().splitlines()[-1].split()
    assert overall[0] == "overall" and float(overall[4]) == 1.0  # recall@100: keyword half

    ProductImage.objects.filter(product=products.first()).delete()  # as the admin's inline does

    out = demo(folder)

    assert "0 created, 1 updated, 19 unchanged" in out
    assert ProductImage.objects.count() == 20
