"""manage.py import_feed: a Merchant Center feed in, upserted by id, every bad row reported."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Max
from rest_framework.test import APIClient

from catalog.demo_data import FEED_COLUMNS, demo_feed_rows
from catalog.feeds.fetching import image_source_read
from catalog.feeds.items import item_parse
from catalog.models import Merchant, Product, ProductImage
from catalog.services.products import product_upsert
from retrieval.models import ImageEmbedding
from tests.catalog.guard_helpers import register_as_generated
from tests.conftest import DATASET, dataset_photos
from tests.factories import MerchantFactory, ProductFactory

pytestmark = pytest.mark.django_db

COLUMNS = [*FEED_COLUMNS, "additional_image_link"]


def write_csv(path: Path, rows: list[dict], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def import_feed(path: Path, merchant: str = "shop", **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    options.setdefault("image_root", DATASET / "test")
    call_command(
        "import_feed",
        str(path),
        merchant=merchant,
        create_merchant=True,
        stdout=out,
        stderr=err,
        **options,
    )
    return out.getvalue(), err.getvalue()


def shop_rows(count: int, images_each: int = 1) -> list[dict]:
    """`count` demo rows (a few variant groups) with `images_each` distinct photos each."""
    photos = dataset_photos(count * images_each)
    rows = demo_feed_rows(DATASET / "test", photos[:count])
    for i, row in enumerate(rows):
        more = photos[count + i :: count][: images_each - 1]
        row["additional_image_link"] = ",".join(
            p.relative_to(DATASET / "test").as_posix() for p in more
        )
    return rows


def good_row(sku: str = "SKU-1", **changes) -> dict:
    row = shop_rows(1)[0] | {"id": sku}
    return row | changes


@pytest.mark.django_db(transaction=True)  # embedding jobs are queued on commit
def test_a_feed_imported_twice_changes_nothing_the_second_time(tmp_path, run_jobs):
    rows = shop_rows(50, images_each=2)
    feed = write_csv(tmp_path / "feed.csv", rows)

    out, err = import_feed(feed)
    run_jobs()

    assert "50 created" in out and "row " not in err
    assert Product.objects.count() == 50 and ProductImage.objects.count() == 100
    groups = Product.objects.exclude(item_group_id="").values_list("item_group_id", flat=True)
    assert len(groups) >= 4 and len(set(groups)) * 2 == len(groups)  # pairs of variants
    dress = Product.objects.get(sku=rows[0]["id"])
    assert [i.source for i in dress.images.all()] == [
        rows[0]["image_link"],
        rows[0]["additional_image_link"],
    ]
    assert dress.brand == rows[0]["brand"] and dress.gtin == rows[0]["gtin"]
    assert dress.category.name == rows[0]["product_type"].split(" > ")[-1]
    embedded = ImageEmbedding.objects.count()
    assert embedded == 100
    last_write = Product.objects.aggregate(Max("updated_at"))["updated_at__max"]

    out, _ = import_feed(feed)

    assert "0 created, 0 updated, 50 unchanged" in out
    assert Product.objects.aggregate(Max("updated_at"))["updated_at__max"] == last_write
    assert ProductImage.objects.count() == 100
    run_jobs()
    assert ImageEmbedding.objects.count() == embedded

    # Three new prices and one product gone: exactly those rows change.
    changed = {rows[i]["id"]: f"{10 + i}.50 EUR" for i in (3, 7, 11)}
    for row in rows:
        if row["id"] in changed:
            row["price"], row["sale_price"] = changed[row["id"]], ""
    removed = rows.pop(20)["id"]
    feed = write_csv(tmp_path / "feed.csv", rows)
    before = {p.sku: p.updated_at for p in Product.objects.all()}

    out, _ = import_feed(feed, delete_missing=True)

    assert "0 created, 3 updated, 46 unchanged, 1 deleted" in out
    assert not Product.objects.filter(sku=removed).exists()
    for product in Product.objects.all():
        if product.sku in changed:
            assert f"{product.price:.2f} {product.currency}" == changed[product.sku]
        else:
            assert product.updated_at == before[product.sku]
    sku = next(iter(changed))
    answer = APIClient().get("/api/v1/search/", {"q": sku}).json()
    assert answer["results"][0]["product"]["price"] == changed[sku].split()[0]


def test_json_lines_with_a_byte_order_mark(tmp_path):
    rows = shop_rows(3)
    rows[0]["additional_image_link"] = ""
    lines = [json.dumps({k: v for k, v in row.items() if v}) for row in rows]
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes("\ufeff".encode() + "\n".join(lines).encode())

    out, err = import_feed(feed)

    assert "3 created" in out and "row " not in err
    assert Product.objects.filter(sku=rows[0]["id"], title=rows[0]["title"]).exists()


def test_a_dry_run_says_what_would_change_and_writes_nothing(tmp_path):
    rows = shop_rows(4)
    import_feed(write_csv(tmp_path / "feed.csv", rows[:3]))
    rows[0]["price"] = "1.00 EUR"

    out, _ = import_feed(
        write_csv(tmp_path / "feed.csv", rows[1:]), dry_run=True, delete_missing=True
    )

    assert "1 would be created, 0 would be updated, 2 unchanged, 1 would be deleted" in out
    assert Product.objects.count() == 3


def test_bad_rows_are_reported_and_the_others_imported(tmp_path):
    rows = [
        good_row("OK-1"),
        good_row("BAD-PRICE", price="abc"),
        good_row("BAD-STOCK", quantity="-3", availability=""),
        good_row("BAD-CURRENCY", price="12.90 XYZ", sale_price=""),
        good_row("BAD-AVAILABILITY", availability="maybe", quantity=""),
        good_row("OK-1", title="The same id again"),
        good_row("BAD-GTIN", gtin="4006381333932"),
        good_row("OK-2"),
    ]

    out, err = import_feed(write_csv(tmp_path / "feed.csv", rows))

    assert "8 rows: 2 created" in out and "6 with errors" in out
    assert set(Product.objects.values_list("sku", flat=True)) == {"OK-1", "OK-2"}
    assert Product.objects.get(sku="OK-1").title == rows[0]["title"]
    assert 'row 2, price: "abc" is not a price' in err
    assert "row 3, quantity: the stock cannot be negative (-3)" in err
    assert "row 4, price: XYZ is not an ISO 4217 currency code" in err
    assert 'row 5, availability: "maybe" is not one of in_stock, out_of_stock' in err
    assert "row 6, id: id OK-1 already appeared in row 1" in err
    assert "row 7, gtin:" in err
    report = tmp_path / "report.json"
    import_feed(write_csv(tmp_path / "feed.csv", rows), report=report)
    errors = json.loads(report.read_text())["errors"]
    assert {(e["row"], e["field"], e["code"]) for e in errors} >= {
        (2, "price", "invalid"),
        (3, "quantity", "negative"),
        (6, "id", "duplicate_id"),
    }


def test_a_feed_with_the_wrong_columns_names_the_expected_ones(tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,name,cost\nA,Hat,12.90 EUR\n")

    with pytest.raises(CommandError) as refused:
        import_feed(feed)

    assert "no id, title, price column" in str(refused.value)
    assert "may have description, link, image_link" in str(refused.value)
    assert not Product.objects.exists()


def test_a_file_that_is_not_utf8_is_refused_whole(tmp_path):
    feed = write_csv(tmp_path / "feed.csv", [good_row("A-1"), good_row("A-2")])
    feed.write_bytes(feed.read_bytes() + "A-3,Caf\u00e9 hat,,,,12.00 EUR\n".encode("latin-1"))

    with pytest.raises(CommandError) as refused:
        import_feed(feed)

    assert "Line 4 is not UTF-8" in str(refused.value) and "Nothing was imported" in str(
        refused.value
    )
    assert not Product.objects.exists()


def test_a_50_mb_line_is_skipped_and_reported(tmp_path):
    feed = write_csv(tmp_path / "feed.csv", [good_row("A-1")])
    with feed.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS, extrasaction="ignore")
        writer.writerow(good_row("HUGE", description="x" * (50 * 2**20)))
        writer.writerow(good_row("A-3"))

    out, err = import_feed(feed)

    assert "3 rows: 2 created" in out
    assert "row 2: This line is over 1 MB" in err
    assert set(Product.objects.values_list("sku", flat=True)) == {"A-1", "A-3"}


def test_another_merchants_feed_never_touches_this_shop(tmp_path):
    import_feed(write_csv(tmp_path / "a.csv", [good_row("SHARED-1")]), merchant="shop-a")

    import_feed(
        write_csv(tmp_path / "b.csv", [good_row("SHARED-1", price="1.00 EUR")]),
        merchant="shop-b",
        delete_missing=True,
    )

    a = Product.objects.get(merchant__slug="shop-a", sku="SHARED-1")
    b = Product.objects.get(merchant__slug="shop-b", sku="SHARED-1")
    assert a.price != b.price and str(b.price) == "1.00"


def test_a_product_whose_image_was_deleted_gets_it_back(tmp_path):
    feed = write_csv(tmp_path / "feed.csv", [good_row("A-1"), good_row("A-2")])
    import_feed(feed)
    ProductImage.objects.filter(product__sku="A-1").delete()  # as the admin's inline does

    out, err = import_feed(feed)

    assert "0 created, 1 updated, 1 unchanged" in out and "row " not in err
    assert ProductImage.objects.filter(product__sku="A-1").count() == 1


def test_an_image_path_outside_the_feed_folder_is_refused(tmp_path):
    feed = write_csv(tmp_path / "feed.csv", [good_row("A-1", image_link="../../../etc/passwd")])

    _, err = import_feed(feed)

    assert "row 1, image_link: ../../../etc/passwd lies outside the feed's folder" in err
    assert not Product.objects.exists()


def test_a_generated_image_in_a_feed_is_refused(tmp_path):
    row = good_row("A-1")
    other_shop = Merchant.objects.create(name="Other", slug="other")
    register_as_generated(DATASET / "test" / row["image_link"], other_shop)

    _, err = import_feed(write_csv(tmp_path / "feed.csv", [row]))

    assert "row 1, image_link:" in err and "cannot be a catalog product" in err
    assert not Product.objects.exists()


@pytest.mark.django_db(transaction=True)  # committed rows: images are checked rows ahead
def test_images_checked_ahead_land_on_their_own_rows_and_refusals_on_theirs(tmp_path):
    import hashlib

    rows = shop_rows(8)
    for row in rows:
        row["additional_image_link"] = ""
    other_shop = Merchant.objects.create(name="Other", slug="other")
    register_as_generated(DATASET / "test" / rows[2]["image_link"], other_shop)
    rows[5]["image_link"] = "no/such/photo.jpg"

    out, err = import_feed(write_csv(tmp_path / "feed.csv", rows))

    assert "8 rows: 6 created" in out and "2 with errors" in out
    assert "row 3, image_link:" in err and "cannot be a catalog product" in err
    assert "row 6, image_link: no/such/photo.jpg" in err
    assert not Product.objects.filter(sku__in=[rows[2]["id"], rows[5]["id"]]).exists()
    for row in rows[:2] + rows[3:5] + rows[6:]:
        image = Product.objects.get(sku=row["id"]).images.get()
        photo = (DATASET / "test" / row["image_link"]).read_bytes()
        assert image.sha256 == hashlib.sha256(photo).hexdigest()
        assert image.keypoints.count() > 0


def test_images_by_url_are_fetched_within_bounds(tmp_path, image_server, settings):
    settings.FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES = True
    settings.FIDELIS_FEED_FETCH_TIMEOUT_S = 1
    names = ["photo", "moved", "missing", "slow", "page", "lies", "10gb", "loop"]
    rows = [
        good_row(f"URL-{name}", image_link=f"{image_server}/{name}.jpg", additional_image_link="")
        for name in names
    ]

    out, err = import_feed(write_csv(tmp_path / "feed.csv", rows))

    assert "8 rows: 2 created" in out
    assert set(Product.objects.values_list("sku", flat=True)) == {"URL-photo", "URL-moved"}
    assert Product.objects.get(sku="URL-moved").images.get().source.endswith("/moved.jpg")
    assert "row 3, image_link: " in err and "/missing.jpg answered HTTP 404" in err
    assert "/slow.jpg did not answer in 1 s" in err
    assert "/page.jpg is text/html, not an image" in err
    assert "row 6, image_link: " in err and "not an image" in err.split("row 6")[1]
    assert "/10gb.jpg is larger than the limit of 10 MB" in err
    assert "/loop.jpg redirects more than 3 times" in err


def test_private_addresses_are_refused_unless_allowed(tmp_path, image_server):
    rows = [
        good_row("LOOPBACK", image_link=f"{image_server}/photo.jpg"),
        good_row("METADATA", image_link="http://169.254.169.254/latest/meta-data/photo.jpg"),
    ]

    out, err = import_feed(write_csv(tmp_path / "feed.csv", rows))

    assert "2 with errors" in out and not Product.objects.exists()
    assert "row 1, image_link: 127.0.0.1 is a private, loopback or link-local address" in err
    assert "row 2, image_link: 169.254.169.254 is a private, loopback or link-local" in err


@pytest.mark.django_db(transaction=True)  # vectors are made and recomputed on commit
def test_an_image_the_feed_drops_leaves_the_products_vector(tmp_path, run_jobs):
    import numpy as np

    from retrieval.models import ProductEmbedding

    row = shop_rows(1, images_each=2)[0]
    import_feed(write_csv(tmp_path / "feed.csv", [row]))
    run_jobs()
    product = Product.objects.get()
    assert ImageEmbedding.objects.filter(image__product=product).count() == 2

    import_feed(write_csv(tmp_path / "feed.csv", [row | {"additional_image_link": ""}]))

    kept = ImageEmbedding.objects.get(image__product=product)
    assert kept.image.source == row["image_link"]
    vector = np.asarray(ProductEmbedding.objects.get(product=product).vector, dtype=np.float32)
    expected = np.asarray(kept.vector, dtype=np.float32)
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=2e-3)


def test_a_sku_created_elsewhere_after_the_lookup_is_a_row_error_and_nothing_is_written():
    """The import looks SKUs up a batch at a time; one created meanwhile by another import or
    request is refused by the database's unique constraint, reported on its row, not a crash."""

    merchant = MerchantFactory()
    meanwhile = ProductFactory(merchant=merchant, sku="SKU-1", title="Made elsewhere")
    outcome = product_upsert(
        merchant=merchant,
        item=item_parse(good_row("SKU-1"), row=2),
        existing=None,
        looked_up=True,
        read_image=lambda source: image_source_read(source, base=DATASET / "test"),
    )

    assert outcome.action == "failed"
    assert [(e.field, e.code) for e in outcome.errors] == [("id", "conflict")]
    assert "run it again" in outcome.errors[0].message
    assert list(Product.objects.filter(merchant=merchant).values_list("pk", "title")) == [
        (meanwhile.pk, "Made elsewhere")
    ]
    assert not ProductImage.objects.filter(product__merchant=merchant).exists()
