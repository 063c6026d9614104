"""Query suggestions through HTTP: popular past queries and catalog terms, prefix and typo
tolerant, from shown products only."""

import pytest
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from analytics.models import PopularQuery
from analytics.popular import popular_queries_refresh
from catalog.models import Product, ProductImage
from retrieval.keyword import lexicon_refresh
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


def suggest(client, q: str) -> list[str]:
    response = client.get("/api/v1/suggest/", {"q": q})
    assert response.status_code == 200
    return [s["text"] for s in response.json()["suggestions"]]


def test_a_prefix_and_a_typo_suggest_catalog_terms(client, indexed_catalog):
    assert "sneakers" in suggest(client, "sne")
    assert "sneakers" in suggest(client, "snek")  # one typo in what was typed
    assert "dresses" in suggest(client, "dres")  # the category's name
    assert suggest(client, "classic sne")[0] == "classic sneakers"  # the last word completed
    assert suggest(client, "x") == [] and suggest(client, "xqzv") == []
    assert len(suggest(client, "s")) == 0 and len(suggest(client, "sh")) <= 10


def test_suggestions_name_their_kind_and_hits(client, indexed_catalog):
    body = client.get("/api/v1/suggest/", {"q": "dres"}).json()

    (category,) = [s for s in body["suggestions"] if s["text"] == "dresses"]
    assert category == {"text": "dresses", "kind": "category", "hits": 5}


def test_terms_of_hidden_or_single_products_are_never_suggested(client, indexed_catalog):
    first, second, third = indexed_catalog.order_by("pk")[:3]
    Product.objects.filter(pk__in=[first.pk, second.pk]).update(brand="Zanzibarian")
    Product.objects.filter(pk=third.pk).update(brand="Quokkaware")
    lexicon_refresh()
    assert "zanzibarian" in suggest(client, "zanz")
    assert "quokkaware" not in suggest(client, "quok")  # one product: fewer than 2 hits

    # Both products carrying it are hidden (their images quarantined): never suggested.
    ProductImage.objects.filter(product__in=[first, second]).update(
        guard_status=ProductImage.GuardStatus.QUARANTINED
    )
    lexicon_refresh()

    assert "zanzibarian" not in suggest(client, "zanz")


def test_a_missing_or_long_query_is_a_400(client, indexed_catalog):
    assert client.get("/api/v1/suggest/").json()["error"]["code"] == "required"
    assert client.get("/api/v1/suggest/", {"q": "a" * 201}).status_code == 400


def searched_by_visits(query: str, visits: int) -> None:
    for _ in range(visits):  # each Client is a new visit with its own session cookie
        assert Client().get("/search/", {"q": query}).status_code == 200


def test_a_query_many_visits_searched_is_suggested_first(client, indexed_catalog, settings):
    searched_by_visits("Soft  Dress", settings.FIDELIS_POPULAR_QUERY_SEARCHERS - 1)
    assert popular_queries_refresh() == 0
    assert "soft dress" not in suggest(client, "soft d")  # one visit short

    searched_by_visits("soft dress", 1)
    assert popular_queries_refresh() == 1

    body = client.get("/api/v1/suggest/", {"q": "soft d"}).json()
    assert body["suggestions"][0] == {"text": "soft dress", "kind": "query", "hits": 2}
    assert suggest(client, "so")[0] == "soft dress"


def test_one_visit_searching_often_does_not_make_a_query_popular(client, indexed_catalog):
    visit = Client()
    for _ in range(10):
        visit.get("/search/", {"q": "soft dress"})

    assert popular_queries_refresh() == 0


def test_a_popular_query_with_a_word_the_catalog_lacks_is_never_suggested(
    client, indexed_catalog, settings
):
    # A shopper's own words (a name, a typo) must never be shown to anyone else.
    searched_by_visits("soft dress annabelle", settings.FIDELIS_POPULAR_QUERY_SEARCHERS)
    searched_by_visits("sofft dress", settings.FIDELIS_POPULAR_QUERY_SEARCHERS)

    popular_queries_refresh()

    assert not [s for s in suggest(client, "so") if "annabelle" in s or "sofft" in s]
    assert not PopularQuery.objects.exists()


def test_a_popular_query_goes_when_its_products_are_deleted(
    client, indexed_catalog, settings, run_jobs
):
    searched_by_visits("soft dress", settings.FIDELIS_POPULAR_QUERY_SEARCHERS)
    popular_queries_refresh()
    assert suggest(client, "soft d")[0] == "soft dress"

    merchant = indexed_catalog.first().merchant
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=merchant_user(merchant))[1]}"
    )
    for product in indexed_catalog.filter(title__istartswith="soft", category__slug="dress"):
        assert api.delete(f"/api/v1/merchant/products/{product.sku}/").status_code == 204
    run_jobs()  # the lexicon refresh, then the popular-query rebuild it defers

    assert "soft dress" not in suggest(client, "soft d")
