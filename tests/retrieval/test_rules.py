"""Merchandising rules through the API and the admin: pin, hide, boost, bury, in their time
window, after strict fidelity, and refused when they would break it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Merchant, Product
from catalog.services import merchant_create, product_create_with_image
from retrieval.models import MerchandisingRule
from tests.conftest import dataset_photos
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(linen):
    client = Client()
    client.force_login(merchant_user(Merchant.objects.get(slug="demo")))
    return client


def add_rule(client, **data):
    return client.post("/api/v1/merchant/rules/", data, content_type="application/json")


def search(client, **params):
    return client.get("/api/v1/search/", {"page_size": 100, **params}).json()


def ids(body) -> list[int]:
    return [hit["product"]["id"] for hit in body["results"]]


def test_a_pinned_product_takes_its_position_and_names_the_rule(client, owner, linen):
    hat = Product.objects.filter(category__slug="hat").first()  # no linen in it
    before = search(client, q="linen")

    response = add_rule(
        owner, name="hat-first", query="Linen", action="pin", sku=hat.sku, position=2
    )

    assert response.status_code == 201, response.content
    body = search(client, q="linen")
    assert ids(body)[1] == hat.pk and body["total"] == before["total"] + 1
    assert "rule:hat-first" in body["results"][1]["signals"]
    assert ids(body)[:1] + ids(body)[2:] == ids(before)
    # A shopper who sorts by price gets prices: the pin leaves that order alone.
    assert hat.pk not in ids(search(client, q="linen", sort="price_asc"))
    # Exact match: "blue linen" is another query.
    assert hat.pk not in ids(search(client, q="blue linen"))


def test_a_pin_never_brings_in_a_product_that_stopped_being_shown(client, owner, linen):
    hat = Product.objects.filter(category__slug="hat").first()
    add_rule(owner, name="hat-first", query="linen", action="pin", sku=hat.sku, position=1)
    Product.objects.filter(pk=hat.pk).update(is_active=False)

    assert hat.pk not in ids(search(client, q="linen"))
    page = client.get("/search/", {"q": "linen"}).content.decode()
    assert hat.title not in page


def test_hide_boost_and_bury(client, owner, linen):
    hidden = linen.get(brand="Birch", color="White")
    add_rule(owner, name="no-white", query="linen", action="hide", sku=hidden.sku)
    add_rule(
        owner,
        name="cedar-up",
        match="contains",
        query="linen",
        action="boost",
        attribute="brand",
        value="Cedar",
    )
    add_rule(
        owner,
        name="dresses-down",
        query="linen",
        action="bury",
        attribute="category",
        value="dress",
    )

    body = search(client, q="linen")

    assert hidden.pk not in ids(body) and body["total"] == 6
    brands = [hit["product"]["brand"] for hit in body["results"]]
    assert brands[:2] == ["Cedar", "Cedar"]
    categories = [hit["product"]["category"]["slug"] for hit in body["results"]]
    in_stock_dresses = [
        c for c, h in zip(categories, body["results"], strict=True) if h["product"]["in_stock"]
    ]
    assert in_stock_dresses[-2:] == ["dress", "dress"]
    assert all("rule:cedar-up" in h["signals"] for h in body["results"][:2])
    # "contains": any query with every word of the rule.
    assert ids(search(client, q="blue linen"))[0] in linen.filter(brand="Cedar").values_list(
        "pk", flat=True
    )


def test_a_rule_acts_only_inside_its_time_window(client, owner, linen):
    now = timezone.now()
    hat = Product.objects.filter(category__slug="hat").first()
    add_rule(
        owner,
        name="later",
        query="linen",
        action="pin",
        sku=hat.sku,
        position=1,
        starts_at=(now + timedelta(days=1)).isoformat(),
    )
    add_rule(
        owner,
        name="over",
        query="linen",
        action="pin",
        sku=hat.sku,
        position=1,
        starts_at=(now - timedelta(days=2)).isoformat(),
        ends_at=(now - timedelta(days=1)).isoformat(),
    )

    assert hat.pk not in ids(search(client, q="linen"))
    MerchandisingRule.objects.filter(name="later").update(starts_at=now - timedelta(minutes=1))
    assert ids(search(client, q="linen"))[0] == hat.pk


def test_bad_rules_are_refused_and_nothing_is_written(owner, linen):
    other = merchant_create(name="Other", slug="other")
    theirs = product_create_with_image(
        merchant=other,
        data=dataset_photos(51)[-1].read_bytes(),
        title="Cap",
        sku="CAP-1",
        price=5,
    )
    mine = linen.first()
    Product.objects.filter(pk=mine.pk).update(is_active=False)
    now = timezone.now()
    cases = [
        ({"action": "pin", "sku": theirs.sku, "position": 1}, "rule_product_not_yours"),
        ({"action": "pin", "sku": mine.sku, "position": 1}, "rule_product_hidden"),
        ({"action": "pin", "sku": linen.last().sku, "position": 0}, "rule_bad_position"),
        ({"action": "boost", "attribute": "brand", "value": "Nobody"}, "rule_unknown_brand"),
        (
            {
                "action": "bury",
                "attribute": "in_stock",
                "starts_at": now.isoformat(),
                "ends_at": (now - timedelta(hours=1)).isoformat(),
            },
            "rule_ends_before_it_starts",
        ),
    ]
    for data, code in cases:
        response = add_rule(owner, name="bad", query="linen", **data)
        assert response.status_code == 400, (data, response.content)
        assert response.json()["error"]["code"] == code
    assert not MerchandisingRule.objects.exists()


def test_a_merchant_adds_a_rule_in_the_admin_for_its_own_products_only(client, owner, linen):
    other = merchant_create(name="Other", slug="other")
    theirs = product_create_with_image(
        merchant=other, data=dataset_photos(51)[-1].read_bytes(), title="Cap", price=5
    )
    hat = Product.objects.filter(category__slug="hat").first()
    form = {
        "name": "hat-first",
        "match": "exact",
        "query": "Linen",
        "action": "pin",
        "position": 1,
        "attribute": "",
        "value": "",
    }

    refused = owner.post("/admin/retrieval/merchandisingrule/add/", {**form, "product": theirs.pk})
    saved = owner.post("/admin/retrieval/merchandisingrule/add/", {**form, "product": hat.pk})

    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert saved.status_code == 302
    rule = MerchandisingRule.objects.get()
    assert rule.merchant.slug == "demo" and rule.query == "linen"
    assert ids(search(client, q="linen"))[0] == hat.pk
