"""Query suggestions through HTTP: prefix and typo tolerant, from shown products only."""

import pytest

from catalog.models import Product, ProductImage
from retrieval.keyword import lexicon_refresh

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
