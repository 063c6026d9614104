"""The production path with real processes: a gunicorn server and a procrastinate worker.

A merchant adds a product with a photo through the admin over HTTP; a shopper finds it by
photo search over HTTP. Photo search ranks by image vectors only, so the product is found only
if the worker embedded its image, which happens only if the announcement reached the queue.
"""

import time

import pytest
import requests

from catalog.models import Product
from tests import processes
from tests.conftest import dataset_photos
from tests.factories import MerchantFactory, merchant_user

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's


@pytest.fixture
def shop(tmp_path):
    """A web server and a worker, on this test's database and media, stopped by their pids."""
    # The merchant API's image URLs come from this test's loopback server.
    env = processes.service_env(tmp_path / "var", FIDELIS_FEED_ALLOW_PRIVATE_ADDRESSES="1")
    port = processes.free_port()
    services = [
        processes.start_web("web", port=port, env=env, log_dir=tmp_path / "logs"),
        processes.start_worker("worker", env=env, log_dir=tmp_path / "logs"),
    ]
    base = f"http://{processes.LOOPBACK}:{port}"
    try:
        processes.wait_until_serving(services[0], f"{base}/api/v1/products/")
        yield base, services
    finally:
        for service in services:
            service.stop()


def add_product_in_admin(session: requests.Session, base: str, *, title: str, photo) -> Product:
    processes.admin_product_add(session, base, title=title, photo=photo)
    return Product.objects.get(title=title)


def seconds_until_found_by_photo(base: str, *, product: Product, photo, timeout: float, services):
    """Photo-search for `photo` over HTTP until `product` is the first hit."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with photo.open("rb") as fh:
            found = requests.post(
                f"{base}/api/v1/search/photo/", files={"image": fh}, timeout=10
            ).json()
        hits = [hit["product"]["id"] for hit in found["results"]]
        if hits[:1] == [product.pk]:
            return time.monotonic() - started
        time.sleep(0.05)
    logs = "\n".join(service.tail() for service in services)
    raise AssertionError(f"{product.title} was not found by photo search in {timeout} s\n{logs}")


def test_a_product_added_over_http_is_found_by_photo_search_within_2_s(shop):
    base, services = shop
    merchant = MerchantFactory(name="Harbour Outfitters")
    user = merchant_user(merchant)
    first, second = dataset_photos(2)
    session = processes.admin_session(base, user.username, PASSWORD)

    # The first product also waits for the worker to load its encoder.
    warm_up = add_product_in_admin(session, base, title="Canvas tote", photo=first)
    seconds_until_found_by_photo(base, product=warm_up, photo=first, timeout=90, services=services)

    product = add_product_in_admin(session, base, title="Wool beanie", photo=second)
    elapsed = seconds_until_found_by_photo(
        base, product=product, photo=second, timeout=2, services=services
    )

    assert elapsed < 2


def seconds_until(check, *, timeout: float, services) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    logs = "\n".join(service.tail() for service in services)
    raise AssertionError(f"not seen in {timeout} s\n{logs}")


def test_a_product_made_through_the_merchant_api_is_found_and_its_stock_changes_within_2_s(
    shop, image_server
):
    from knox.models import AuthToken

    base, services = shop
    merchant = MerchantFactory(name="Harbour Outfitters")
    token = AuthToken.objects.create(user=merchant_user(merchant))[1]
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    item = {
        "id": "BEANIE-1",
        "title": "Wool beanie",
        "price": "19.00 EUR",
        "quantity": 5,
        "image_link": f"{image_server}/photo.jpg",
    }

    created = api.post(f"{base}/api/v1/merchant/products/", json=item, timeout=60)
    assert created.status_code == 201, created.text[:2000]
    product = Product.objects.get(sku="BEANIE-1")
    seconds_until_found_by_photo(
        base, product=product, photo=dataset_photos(1)[0], timeout=90, services=services
    )

    def in_stock_hits() -> list[str]:
        params = {"q": "BEANIE-1", "in_stock": "true"}
        found = requests.get(f"{base}/api/v1/search/", params=params, timeout=10).json()
        return [hit["product"]["sku"] for hit in found["results"]]

    assert in_stock_hits() == ["BEANIE-1"]
    update = {"items": [{"id": "BEANIE-1", "quantity": 0, "price": "15.00 EUR"}]}
    answer = api.post(f"{base}/api/v1/merchant/products/bulk/", json=update, timeout=10)
    assert answer.json()["updated"] == 1, answer.text

    elapsed = seconds_until(lambda: in_stock_hits() == [], timeout=2, services=services)

    assert elapsed < 2
    found = requests.get(f"{base}/api/v1/search/", params={"q": "BEANIE-1"}, timeout=10).json()
    assert found["results"][0]["product"]["price"] == "15.00"


def test_an_image_whose_indexing_job_was_never_queued_is_embedded_by_the_sweep(tmp_path):
    """A product committed, but its indexing job never reached the queue (the primary went down
    between the commit and the queueing: the writer got a 503). A real worker, with nothing
    queued for it, finds the image in the backlog by its periodic sweep and embeds it."""
    from django.db import connection

    from catalog.services import product_create_with_image
    from retrieval.models import ImageEmbedding

    merchant = MerchantFactory(name="Harbour Outfitters")
    product = product_create_with_image(
        merchant=merchant, data=dataset_photos(1)[0].read_bytes(), title="Wool beanie", price="9"
    )
    with connection.cursor() as cursor:  # the job its commit queued is lost
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE task_name = 'retrieval.embed_pending_images'"
        )
    env = processes.service_env(tmp_path / "var", FIDELIS_INDEXING_SWEEP_S="2")
    worker = processes.start_worker("worker", env=env, log_dir=tmp_path / "logs")
    try:
        seconds_until(
            lambda: ImageEmbedding.objects.filter(image__product=product).exists(),
            timeout=90,
            services=[worker],
        )
    finally:
        worker.stop()
