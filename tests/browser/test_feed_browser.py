"""The admin's feed page in a real browser: upload a feed, watch its progress bar fill."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalog.models import FeedImport, Product
from tests.browser.test_create_browser import run_worker_once
from tests.factories import MerchantFactory, merchant_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merchant_uploads_a_feed_and_watches_it_import(
    live_server, page, image_server, settings, tmp_path
):
    settings.FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES = True  # the images come from loopback
    user = merchant_user(MerchantFactory(name="Harbour Outfitters"), username="feeds")
    feed = tmp_path / "harbour-feed.csv"
    lines = ["id,title,price,quantity,brand,image_link"]
    lines += [
        f"HB-{n},Harbour tee {n},2{n}.90 EUR,3,Harbour,{image_server}/photo.jpg" for n in range(4)
    ]
    lines.append("HB-9,A price nobody can read,twelve euros,1,Harbour,")
    feed.write_text("\n".join(lines) + "\n")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/catalog/feedimport/add/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("File").set_input_files(str(feed))
    page.get_by_role("button", name="Save", exact=True).click()

    status = page.get_by_role("status")
    assert "Waiting for a worker" in status.inner_text()
    assert page.locator("progress").get_attribute("value") == "0"
    page.screenshot(path=tmp_path / "feed-queued.png", full_page=True)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(run_worker_once).result()
    deadline = time.monotonic() + 30
    while "5 rows: 4 created" not in page.locator(".feed-progress-text").inner_text():
        text = page.locator(".feed-progress-text").inner_text()
        assert time.monotonic() < deadline, f"the page did not follow the import: {text}"
        page.wait_for_timeout(200)
    assert page.locator("progress").get_attribute("value") == "100"
    assert page.get_by_role("cell", name='"twelve euros" is not a price', exact=False).is_visible()
    page.screenshot(path=tmp_path / "feed-done.png", full_page=True)
    assert FeedImport.objects.get().status == FeedImport.Status.DONE
    assert Product.objects.filter(sku__startswith="HB-").count() == 4
