"""A shopper searches in a real browser: words, a filter, a product, a photo, a sort, two
categories, a synonym, and a query nothing matches."""

import pytest
from django.core.management import call_command
from django.test import Client

from analytics.popular import popular_queries_refresh
from catalog.models import Merchant, Product
from retrieval.rules import rule_save
from retrieval.synonyms import synonym_save
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


def test_shopper_sorts_ticks_two_categories_uses_a_synonym_and_recovers_from_nothing(
    live_server, page, photo_folder, run_jobs, tmp_path
):
    call_command("import_catalog", str(photo_folder(40)), stdout=None)
    run_jobs()
    shop = Merchant.objects.get(slug="demo")
    synonym_save(merchant=shop, kind="one_way", terms=["jeans"], synonyms=["trousers"])
    hat = Product.objects.filter(category__slug="hat").first()
    rule_save(merchant=shop, name="hat-first", query="jeans", action="pin", product=hat, position=1)
    box = page.get_by_label("Search products", exact=True)

    page.goto(live_server.url)
    box.fill("shirt")
    box.press("Enter")
    page.get_by_label("Sort by").select_option("price_asc")
    page.get_by_role("button", name="Sort").click()
    prices = [float(p.split()[0]) for p in page.locator(".card .price").all_inner_texts()]
    in_stock = page.locator(".card .badge").all_inner_texts()
    shown = [p for p, badge in zip(prices, in_stock, strict=True) if badge == "In stock"]
    assert len(shown) > 2 and shown == sorted(shown)

    categories = page.get_by_role("group", name="Category")
    assert categories.get_by_role("checkbox").count() == 2  # shirts and t-shirts
    categories.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Apply filters").click()
    # Ticking one category keeps the other on offer (OR within a facet).
    assert categories.get_by_role("checkbox").count() == 2
    assert page.get_by_label("Sort by").input_value() == "price_asc"
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "search-sorted-faceted.png", full_page=True)

    box.fill("jeans")
    box.press("Enter")
    titles = page.locator(".card-title").all_inner_texts()
    # The merchant's pin first, then the trousers its synonym finds.
    assert titles[0] == hat.title
    assert page.locator(".card").first.locator(".featured").inner_text() == "Featured"
    assert page.locator(".card .featured").count() == 1
    assert len(titles) > 2 and all("Trousers" in title for title in titles[1:])
    assert page.locator(".card-title mark").first.inner_text() == "Trousers"
    page.screenshot(path=tmp_path / "search-synonym-and-pin.png", full_page=True)

    box.fill("xqzvbnkw")
    box.press("Enter")
    assert page.get_by_text("No products match “xqzvbnkw”.").is_visible()
    assert page.get_by_role("heading", name="You might like").is_visible()
    assert page.get_by_role("list", name="You might like").locator(".card").count() > 0
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "search-zero-results.png", full_page=True)


def test_shopper_picks_a_suggestion_with_the_keyboard(
    live_server, page, photo_folder, run_jobs, tmp_path
):
    call_command("import_catalog", str(photo_folder(40)), stdout=None)
    run_jobs()
    page.goto(live_server.url)
    box = page.get_by_role("combobox", name="Search products")

    box.press_sequentially("snek", delay=40)  # a typo: still suggested
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    options.first.wait_for()
    assert "sneakers" in options.all_inner_texts()
    assert box.get_attribute("aria-expanded") == "true"
    page.screenshot(path=tmp_path / "suggestions.png", full_page=True)
    chosen = options.all_inner_texts().index("sneakers")
    for _ in range(chosen + 1):
        box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.nth(chosen).get_attribute("id")
    box.press("Enter")

    page.wait_for_url("**/search/?q=sneakers")
    assert page.get_by_role("heading", name="Results for “sneakers”").is_visible()
    assert page.locator(".card-title").count() == 4


def test_a_popular_search_is_suggested_first(
    live_server, page, photo_folder, run_jobs, settings, tmp_path
):
    call_command("import_catalog", str(photo_folder(50)), stdout=None)
    run_jobs()
    for _ in range(settings.FIDELIS_POPULAR_QUERY_SEARCHERS):  # each Client: another visit
        Client().get("/search/", {"q": "soft dress"})
    popular_queries_refresh()
    page.goto(live_server.url)
    box = page.get_by_role("combobox", name="Search products")

    box.press_sequentially("soft d", delay=40)
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    options.first.wait_for()

    assert options.first.inner_text() == "soft dress popular search"
    page.screenshot(path=tmp_path / "popular-suggestion.png", full_page=True)
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url("**/search/?q=soft+dress")
    assert page.locator(".card-title").count() == 2


def test_the_search_form_works_without_javascript(live_server, browser, photo_folder, run_jobs):
    call_command("import_catalog", str(photo_folder(20)), stdout=None)
    run_jobs()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url)
        box = page.get_by_label("Search products", exact=True)
        assert box.get_attribute("role") is None  # no combobox without the script
        box.fill("shirt")
        box.press("Enter")
        assert page.get_by_role("heading", name="Results for “shirt”").is_visible()
    finally:
        context.close()
