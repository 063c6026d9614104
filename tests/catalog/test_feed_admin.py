"""The admin's feed page: a merchant uploads a feed, a queue job imports it, the page follows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.models import FeedImport, Product
from catalog.services import merchant_create
from tests.factories import merchant_user

# The import job is queued when the upload commits.
pytestmark = pytest.mark.django_db(transaction=True)


def feed_csv(image_server: str, skus: list[str]) -> bytes:
    lines = ["id,title,price,image_link,brand,quantity"]
    lines += [f"{sku},Linen shirt {sku},29.90 EUR,{image_server}/photo.jpg,Maris,4" for sku in skus]
    lines.append("BAD-1,Broken price,abc,,,")
    return ("\n".join(lines) + "\n").encode()


def test_a_merchant_uploads_a_feed_and_follows_its_import(image_server, run_jobs, settings):
    settings.FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES = True
    shop, rival = (
        merchant_create(name="Shop", slug="shop"),
        merchant_create(name="Rival", slug="rival"),
    )
    owner, other = Client(), Client()
    owner.force_login(merchant_user(shop))
    other.force_login(merchant_user(rival))
    upload = SimpleUploadedFile("feed.csv", feed_csv(image_server, ["SH-1", "SH-2"]), "text/csv")

    answer = owner.post(
        "/admin/catalog/feedimport/add/", {"file": upload, "delete_missing": "", "dry_run": ""}
    )

    job = FeedImport.objects.get()
    assert answer.status_code == 302 and answer["Location"].endswith(
        f"/feedimport/{job.pk}/change/"
    )
    assert job.merchant == shop and job.status == FeedImport.Status.QUEUED
    page = owner.get(answer["Location"]).content.decode()
    assert "<progress" in page and "Waiting for a worker" in page

    run_jobs()

    progress = owner.get(f"/admin/catalog/feedimport/{job.pk}/progress/").json()
    assert progress["done"] and progress["percent"] == 100 and progress["status"] == "done"
    assert "3 rows: 2 created" in progress["text"] and "1 with errors" in progress["text"]
    page = owner.get(answer["Location"]).content.decode()
    assert "price" in page and "is not a price" in page  # the row error, in its table
    assert set(Product.objects.filter(merchant=shop).values_list("sku", flat=True)) == {
        "SH-1",
        "SH-2",
    }
    # The rival shop sees neither the import nor its progress.
    assert other.get(f"/admin/catalog/feedimport/{job.pk}/progress/").status_code == 404
    assert other.get("/admin/catalog/feedimport/").content.decode().count("Feed import #") == 0


def test_an_uploaded_feed_may_not_read_files_on_the_server(image_server, run_jobs):
    shop = merchant_create(name="Shop", slug="shop")
    owner = Client()
    owner.force_login(merchant_user(shop))
    feed = b"id,title,price,image_link\nX-1,Hat,9.00 EUR,/etc/hostname\n"

    owner.post("/admin/catalog/feedimport/add/", {"file": SimpleUploadedFile("f.csv", feed)})
    run_jobs()

    job = FeedImport.objects.get()
    assert job.report["errors"][0]["message"].startswith("/etc/hostname is not an http(s) URL")
    assert not Product.objects.exists()
