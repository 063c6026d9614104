"""Create mode in a real browser: a merchant signs in, starts a job, watches its progress bar."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from procrastinate.contrib.django import app

from tests.browser.conftest import assert_no_broken_images
from tests.factories import MerchantFactory, merchant_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def run_worker_once() -> None:
    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


def test_merchant_creates_a_concept_and_watches_the_progress_bar(live_server, page, tmp_path):
    user = merchant_user(MerchantFactory(name="Demo shop"), username="studio")
    page.goto(f"{live_server.url}/admin/login/?next=/create/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("Prompt", exact=True).fill("a striped linen beach towel")
    page.get_by_label("Steps").fill("30")
    page.get_by_role("button", name="Generate").click()

    bar = page.locator("#job-progress")
    assert page.locator("#job-status").inner_text() in ("Queued", "queued")
    seen = set()
    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(run_worker_once)
        deadline = time.monotonic() + 120
        while page.locator("#job-status").inner_text() != "succeeded":
            seen.add(bar.evaluate("b => b.value"))
            assert time.monotonic() < deadline, "the job did not finish"
            page.wait_for_timeout(50)
        worker.result()

    assert bar.evaluate("b => b.value") == 1
    assert any(0 < value < 1 for value in seen), seen  # it moved, step by step
    tile = page.locator(".concept").first
    assert tile.get_by_text("Generated concept, not a product").is_visible()
    assert tile.locator("a[href*='/products/']").count() == 0  # never a product page
    assert_no_broken_images(page)
    page.screenshot(path=tmp_path / "create-job.png", full_page=True)
