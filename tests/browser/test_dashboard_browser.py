"""A merchant opens the search dashboard in a real browser after shoppers searched and clicked."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

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

    expect(page.get_by_role("heading", name="Search dashboard")).to_be_visible()
    # Each chart is named by its own title for a screen reader (exactly one of each), never by
    # another chart's.
    for chart in [
        "Top queries (searches)",
        "Click-through rate per query",
        "Queries that found nothing",
        "Search latency per day (ms)",
    ]:
        expect(page.get_by_role("img", name=chart, exact=True)).to_have_count(1)
    expect(page.get_by_role("row", name="shirt 2 2 100% 2.0")).to_be_visible()
    expect(page.get_by_role("link", name="Download as CSV")).to_be_visible()
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
