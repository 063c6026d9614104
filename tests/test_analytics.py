"""Search analytics: a search and a click are logged and linked by the query id, the dashboard
shows them to the merchant whose products were shown, retention deletes old rows, and no
personal data is kept. One test runs the real server, where rows are written in batches."""

import csv
import io
import time
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.models import ResultEvent, SearchEvent
from analytics.retention import analytics_expired_delete
from catalog.models import Merchant
from catalog.services import merchant_create
from tests import processes
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_search_and_a_click_are_linked_by_the_query_id(client, indexed_catalog):
    body = client.get("/api/v1/search/", {"q": "dress", "sort": "price_asc"}).json()
    first = body["results"][0]["product"]

    response = client.post(
        "/api/v1/events/",
        {"query_id": body["query_id"], "product_id": first["id"], "position": 1},
        content_type="application/json",
    )

    assert response.status_code == 202
    search = SearchEvent.objects.get(pk=body["query_id"])
    assert (search.mode, search.query, search.results, search.page) == ("text", "dress", 5, 1)
    assert search.filters == {"sort": "price_asc"} and search.latency_ms > 0
    (click,) = ResultEvent.objects.filter(search_id=search.pk)
    assert (click.product_id, click.position, click.kind) == (first["id"], 1, "click")


def test_a_page_click_is_logged_and_opens_the_product(client, indexed_catalog):
    page = client.get("/search/", {"q": "dress"})
    search = SearchEvent.objects.get()
    product = indexed_catalog.filter(category__slug="dress").first()
    assert f"/r/{search.pk}/" in page.content.decode()

    response = client.get(f"/r/{search.pk}/{product.pk}/", {"position": 3})

    assert response.status_code == 302
    assert response["Location"] == reverse("storefront:product", args=[product.pk, product.slug])
    assert ResultEvent.objects.get().position == 3
    # The only thing kept about the shopper: a random token, the same for the whole visit.
    client.get("/search/", {"q": "shirt"})
    tokens = set(SearchEvent.objects.values_list("session", flat=True))
    assert len(tokens) == 1 and len(tokens.pop()) == 32
    columns = {f.name for f in SearchEvent._meta.fields} | {
        f.name for f in ResultEvent._meta.fields
    }
    assert not columns & {"ip", "ip_address", "user", "user_id", "user_agent", "email"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"query_id": "not-a-uuid", "product_id": 1, "position": 1}, "invalid"),
        (
            {
                "query_id": "00000000-0000-4000-8000-000000000000",
                "product_id": 999999,
                "position": 1,
            },
            "unknown_product",
        ),
        (
            {"query_id": "00000000-0000-4000-8000-000000000000", "product_id": 1, "position": 0},
            "min_value",
        ),
        (
            {
                "query_id": "00000000-0000-4000-8000-000000000000",
                "product_id": 1,
                "position": 1,
                "ip": "1.2.3.4",
            },
            "unknown_parameter",
        ),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(client, indexed_catalog, data, code):
    """Each is a 400 with its code (a JSON list instead of an object too: the fuzzer's find)."""
    if isinstance(data, dict) and data["product_id"] == 1:  # stands for a real, shown product
        data = {**data, "product_id": indexed_catalog.first().pk}
    response = client.post("/api/v1/events/", data, content_type="application/json")

    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert not ResultEvent.objects.exists()


def test_retention_deletes_old_rows_only(indexed_catalog, settings):
    settings.FIDELIS_ANALYTICS_RETENTION_DAYS = 30
    now = timezone.now()
    for age in (0, 29, 31, 400):
        SearchEvent.objects.create(
            mode="text",
            query=f"q{age}",
            results=1,
            latency_ms=1,
            created_at=now - timedelta(days=age),
        )

    assert analytics_expired_delete() == 2

    assert sorted(SearchEvent.objects.values_list("query", flat=True)) == ["q0", "q29"]


def test_the_dashboard_shows_a_merchant_its_own_figures(client, indexed_catalog):
    for q in ["dress", "dress", "shirt", "xqzvbnkw"]:
        body = client.get("/api/v1/search/", {"q": q}).json()
        if body["results"]:
            client.post(
                "/api/v1/events/",
                {
                    "query_id": body["query_id"],
                    "product_id": body["results"][1]["product"]["id"],
                    "position": 2,
                },
                content_type="application/json",
            )
    owner, other = Client(), Client()
    owner.force_login(merchant_user(Merchant.objects.get(slug="demo")))
    other.force_login(merchant_user(merchant_create(name="Other", slug="other")))

    page = owner.get("/admin/analytics/searchevent/")
    exported = owner.get("/admin/analytics/searchevent/export.csv")

    html = page.content.decode()
    assert page.status_code == 200 and html.count('<svg class="chart" role="img"') == 4
    assert "<td>dress</td><td>2</td><td>2</td><td>100%</td><td>2.0</td>" in html
    assert "xqzvbnkw" in html  # found nothing: every merchant sees it
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert ["top_query", "dress", "2", "2", "1.0", "2.0", "", ""] in rows
    theirs = other.get("/admin/analytics/searchevent/").content.decode()
    assert "<td>dress</td>" not in theirs and "xqzvbnkw" in theirs


def test_the_real_server_writes_searches_and_clicks_in_batches(indexed_catalog, tmp_path):
    env = processes.service_env(
        tmp_path / "var", FIDELIS_ANALYTICS_INLINE="0", FIDELIS_ANALYTICS_FLUSH_S="0.5"
    )
    port = processes.free_port()
    web = processes.start_web("web", port=port, env=env, log_dir=tmp_path / "logs")
    base = f"http://{processes.LOOPBACK}:{port}"
    try:
        processes.wait_until_serving(web, f"{base}/api/schema/")
        body = requests.get(f"{base}/api/v1/search/", params={"q": "shirt"}, timeout=30).json()
        product_id = body["results"][0]["product"]["id"]
        event = {"query_id": body["query_id"], "product_id": product_id, "position": 1}
        assert requests.post(f"{base}/api/v1/events/", json=event, timeout=30).status_code == 202

        # Written by the server's batching thread, not by the request: wait for it (bounded).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            searched = SearchEvent.objects.filter(pk=body["query_id"]).exists()
            if searched and ResultEvent.objects.filter(search_id=body["query_id"]).exists():
                break
            time.sleep(0.2)
        assert SearchEvent.objects.get(pk=body["query_id"]).query == "shirt"
        assert ResultEvent.objects.get(search_id=body["query_id"]).product_id == product_id
    finally:
        web.stop()
