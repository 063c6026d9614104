"""The studio in a real browser: the demo merchant moves the slider from catalog to concepts."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command

from config.management.commands.demo import (
    DEMO_PASSWORD,
    DEMO_USER,
    demo_merchant,
    demo_user_enable,
)
from tests.browser.conftest import assert_no_broken_images
from tests.browser.test_create_browser import run_worker_once

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_merchant_slides_to_half_fidelity_and_follows_a_concept_back_to_real_products(
    live_server, page, photo_folder, run_jobs, tmp_path
):
    merchant = demo_merchant()  # what `./fidelis demo` sets up
    demo_user_enable(merchant)
    call_command("import_catalog", str(photo_folder(40)), merchant=merchant.slug, stdout=None)
    run_jobs()  # index the catalog
    page.goto(f"{live_server.url}/admin/login/?next=/studio/")
    page.get_by_label("Username").fill(DEMO_USER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("Words").fill("shirt")
    slider = page.get_by_label("Fidelity")
    slider.focus()
    for _ in range(10):  # the keyboard moves it: 1.0 -> 0.5 in steps of 0.05
        slider.press("ArrowLeft")
    assert slider.input_value() == "0.5"
    assert page.locator("#fidelity-output").inner_text() == "0.50 · close variation"
    page.get_by_label("Concepts").fill("2")
    page.get_by_role("button", name="Search and create").click()

    real = page.get_by_role("list", name="Real products").locator(".real-tile")
    assert real.count() > 0
    assert real.first.get_by_text("Real product", exact=True).is_visible()
    status, bar = page.locator("#job-status"), page.locator("#job-progress")
    seen = set()
    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(run_worker_once)
        deadline = time.monotonic() + 180
        while status.inner_text() != "succeeded":
            seen.add(bar.evaluate("b => b.value"))
            assert time.monotonic() < deadline, "the studio job did not finish"
            page.wait_for_timeout(50)
        worker.result()
    assert bar.evaluate("b => b.value") == 1 and any(0 < v < 1 for v in seen), seen

    concepts = page.locator("#job-images .concept")
    concepts.first.wait_for()
    assert concepts.count() == 2
    for tile in concepts.all():
        assert tile.get_by_text("Generated concept, not a product").is_visible()
        assert tile.locator("a[href*='/products/']").count() == 0  # never a product page
        assert tile.get_by_text("Source product").is_visible()
    # Real and generated tiles differ in more than colour: a solid label vs a dashed border.
    assert concepts.first.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    assert real.first.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "studio-half-fidelity.png", full_page=True)

    concepts.first.get_by_role("link", name="Find real products like this").click()

    assert page.get_by_role("heading", name="Real products like this concept").is_visible()
    found = page.get_by_role("list", name="Real products").locator(".real-tile")
    assert found.count() > 0
    assert found.first.get_by_text("Real product", exact=True).is_visible()
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "studio-find-real.png", full_page=True)


def test_the_studio_fits_a_phone_screen(live_server, page, tmp_path):
    demo_user_enable(demo_merchant())
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/admin/login/?next=/studio/")
    page.get_by_label("Username").fill(DEMO_USER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    assert page.get_by_label("Fidelity").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=tmp_path / "studio-phone.png", full_page=True)
