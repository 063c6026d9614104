"""A shopper searches in a real browser: words, a filter, a product, a photo."""

import pytest
from django.core.management import call_command

from tests.browser.conftest import assert_no_broken_images
from tests.conftest import dataset_photos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_shopper_searches_by_text_filters_opens_a_product_and_searches_by_photo(
    live_server, page, photo_folder, run_jobs, tmp_path
):
    call_command("import_catalog", str(photo_folder(40)), stdout=None)
    run_jobs()

    page.goto(live_server.url)
    page.get_by_label("Search products", exact=True).fill("shirt")
    page.get_by_label("Search products", exact=True).press("Enter")
    assert page.get_by_role("heading", name="Results for “shirt”").is_visible()
    results = page.get_by_role("list", name="Search results").locator(".card")
    assert results.count() > 0

    page.get_by_role("checkbox", name="In stock only").check()
    page.get_by_role("group", name="Category").get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Apply filters").click()
    assert page.get_by_role("checkbox", name="In stock only").is_checked()
    badges = results.locator(".badge").all_inner_texts()
    assert badges and all(b == "In stock" for b in badges)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=tmp_path / "search-results.png", full_page=True)

    title = results.first.locator(".card-title").inner_text()
    results.first.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text() == title
    assert page.get_by_role("heading", name="More like this").is_visible()

    photo = dataset_photos(1, split="validation")[0]  # a photo that is not in the catalog
    page.goto(live_server.url)
    page.get_by_label("Search by photo").set_input_files(str(photo))
    page.get_by_role("button", name="Find similar").click()
    assert page.get_by_role("heading", name="Products like your photo").is_visible()
    assert page.get_by_role("list", name="Search results").locator(".card").count() > 0
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "photo-results.png", full_page=True)
