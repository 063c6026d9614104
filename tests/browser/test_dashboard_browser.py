"""A merchant opens the search dashboard in a real browser after shoppers searched and clicked."""

import pytest
from django.core.management import call_command

from catalog.models import Merchant
from tests.browser.conftest import assert_no_broken_images
from tests.factories import merchant_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merchant_reads_the_search_dashboard(live_server, page, photo_folder, run_jobs, tmp_path):
    call_command("import_catalog", str(photo_folder(40)), stdout=None)
    run_jobs()
    for query in ["shirt", "shirt", "dress", "sneakers", "xqzvbnkw"]:
        page.goto(f"{live_server.url}/search/?q={query}")
        cards = page.locator(".card a")
        if cards.count() > 1:
            cards.nth(1).click()  # a shopper opens the second result
            page.wait_for_url("**/products/**")
    user = merchant_user(Merchant.objects.get(slug="demo"), username="dash")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/analytics/searchevent/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    assert page.get_by_role("heading", name="Search dashboard").is_visible()
    assert page.get_by_role("img", name="Top queries (searches)").is_visible()
    shirt = page.get_by_role("row", name="shirt 2 2 100% 2.0")
    assert shirt.is_visible()
    assert page.get_by_role("img", name="Queries that found nothing").is_visible()
    assert page.get_by_role("link", name="Download as CSV").is_visible()
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
