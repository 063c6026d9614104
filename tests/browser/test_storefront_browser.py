"""The storefront in a real browser: browse, open a product, keyboard, no broken images."""

import pytest
from django.core.management import call_command

from tests.browser.conftest import assert_no_broken_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_shopper_browses_the_catalog_and_opens_a_product(live_server, page, photo_folder, tmp_path):
    call_command("import_catalog", str(photo_folder(12)), stdout=None)

    page.goto(live_server.url)

    assert page.get_by_role("heading", name="All products").is_visible()
    assert page.get_by_role("status").filter(has_text="Demo mode").is_visible()
    cards = page.locator(".grid .card")
    assert cards.count() == 12
    # Every product image really loaded (naturalWidth is 0 for a broken image).
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "storefront-home.png", full_page=True)

    # Keyboard: the skip link comes first, then the product links are reachable.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    title = cards.first.locator(".card-title").inner_text()
    cards.first.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text() == title
    assert "EUR" in page.locator(".details .price").inner_text()
    page.screenshot(path=tmp_path / "storefront-product.png", full_page=True)


def test_storefront_fits_a_phone_screen(live_server, page, photo_folder, tmp_path):
    call_command("import_catalog", str(photo_folder(4)), stdout=None)
    page.set_viewport_size({"width": 375, "height": 740})

    page.goto(live_server.url)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=tmp_path / "storefront-phone.png", full_page=True)
