"""What shoppers expect of search, through HTTP: honest match sets, zero-result recovery, sort,
disjunctive and attribute facets, variants, highlighting, and the out-of-stock rule."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from catalog.models import Merchant, OutOfStockResults, Product
from retrieval.keyword import lexicon_refresh
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


def search(client, **params):
    response = client.get("/api/v1/search/", params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(body) -> list[int]:
    return [hit["product"]["id"] for hit in body["results"]]


def facet(body, name) -> dict[str, tuple[int, bool]]:
    return {v["value"]: (v["count"], v["selected"]) for v in body["facets"][name]}


def test_a_word_matches_only_the_products_that_carry_it(client, indexed_catalog):
    body = search(client, q="dress", page_size=100)

    dresses = set(indexed_catalog.filter(category__slug="dress").values_list("pk", flat=True))
    assert set(ids(body)) == dresses and body["total"] == len(dresses)
    assert body["recovery"] is None
    assert sum(c["count"] for c in body["facets"]["category"]) == body["total"]


def test_a_word_finds_its_category_and_the_products_that_say_it_alike(
    client, monkeypatch, indexed_catalog
):
    """ "dress" matches the dress category and every product that says "dress": with more of
    each than one scan reads, the results still hold both kinds, and with enough, all of
    them, however the statement is built. With a word of its own beside it, "dress" still
    matches by category."""
    monkeypatch.setattr("retrieval.keyword.KEYWORD_SCAN_LIMIT", 4)  # 2 for each way
    dresses = indexed_catalog.filter(category__slug="dress")
    for i, dress in enumerate(dresses):
        Product.objects.filter(pk=dress.pk).update(title=f"Gown {i}", description="A gown.")
    shirts = list(indexed_catalog.filter(category__slug="shirt")[:3])
    for i, shirt in enumerate(shirts):
        Product.objects.filter(pk=shirt.pk).update(title=f"Dress shirt {i}", description="")

    found = set(ids(search(client, q="dress", page_size=100)))

    dress_ids, shirt_ids = set(dresses.values_list("pk", flat=True)), {s.pk for s in shirts}
    assert len(found & dress_ids) >= 2  # by category
    assert len(found & shirt_ids) >= 2  # by their words
    monkeypatch.undo()
    assert set(ids(search(client, q="dress", page_size=100))) == dress_ids | shirt_ids
    # As one statement of ORs (a query with more ways to meet its words): the same matches.
    monkeypatch.setattr("retrieval.keyword.MAX_BRANCHES", 1)
    assert set(ids(search(client, q="dress", page_size=100))) == dress_ids | shirt_ids
    monkeypatch.undo()
    # Another word alongside: the dresses carry "gown" and the category, the shirts no "gown".
    lexicon_refresh()
    gowns = search(client, q="gown dress", page_size=100)
    assert gowns["recovery"] is None
    assert set(ids(gowns)) == dress_ids


def test_a_query_of_many_category_words_is_answered(client, indexed_catalog):
    """Each word that names a category doubles the ways a product can meet the query: 33 of
    them, the longest query taken, are answered as one statement, not 2**33 branches."""
    answered = []

    def ask():
        try:
            answered.append(search(client, q=" ".join(["dress"] * 33), page_size=100))
        finally:
            connection.close()

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(timeout=60)  # a bound on a hang, not a timing: the answer takes milliseconds

    assert answered, "no answer within 60 s"
    dresses = indexed_catalog.filter(category__slug="dress").values_list("pk", flat=True)
    assert set(ids(answered[0])) == set(dresses)


def test_vector_only_hits_count_only_above_the_models_cut_off(client, settings, indexed_catalog):
    """The random-weight profile's cut-off keeps its vector-only hits out; lowered, they count."""
    keyword_only = search(client, q="dress", page_size=100)
    settings.FIDELIS_VECTOR_MATCH_SIMILARITY = -1.0

    everything = search(client, q="dress", page_size=100)

    assert everything["total"] > keyword_only["total"]
    vector_only = [h for h in everything["results"] if h["signals"] == ["vector"]]
    assert vector_only and set(ids(keyword_only)) <= set(ids(everything))


def test_nonsense_gets_zero_results_and_products_it_might_like(client, indexed_catalog):
    body = search(client, q="xqzvbnkw")

    assert body["total"] == 0 and body["results"] == [] and body["facets"]["category"] == []
    recovery = body["recovery"]
    assert recovery["did_you_mean"] is None and recovery["relaxed_query"] is None
    liked = recovery["you_might_like"]
    assert liked and all(p["in_stock"] for p in liked)
    assert len({p["category"]["slug"] for p in liked}) == 1  # one category, the nearest

    page = client.get("/search/", {"q": "xqzvbnkw"}).content.decode()
    assert "No products match “xqzvbnkw”." in page and "You might like" in page
    assert "0 products" not in page


def test_a_further_typo_is_offered_as_did_you_mean(client, indexed_catalog):
    body = search(client, q="shrtt")

    assert body["total"] == 0
    assert body["recovery"]["did_you_mean"] == "shirt"
    page = client.get("/search/", {"q": "shrtt"}).content.decode()
    assert 'Did you mean <a href="/search/?q=shirt">shirt</a>?' in page


def test_words_nothing_carries_are_dropped_and_labelled(client, linen):
    body = search(client, q="linen xqzvbnkw", page_size=100)

    assert body["recovery"]["relaxed_query"] == "linen"
    assert body["recovery"]["dropped_words"] == ["xqzvbnkw"]
    assert set(ids(body)) == set(linen.values_list("pk", flat=True))
    page = client.get("/search/", {"q": "linen xqzvbnkw"}).content.decode()
    assert "Showing products that match “linen”, without “xqzvbnkw”." in page


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "newest"])
def test_sorts_are_stable_across_pages_and_leave_the_facets(client, linen, sort):
    by_relevance = search(client, q="linen", page_size=100)
    everything = search(client, q="linen", sort=sort, page_size=100)
    pages = [search(client, q="linen", sort=sort, page_size=3, page=n) for n in (1, 2, 3)]

    products = {p.pk: p for p in linen}
    expected = sorted(
        products.values(),
        key={
            "price_asc": lambda p: (not p.in_stock, p.price, p.pk),
            "price_desc": lambda p: (not p.in_stock, -p.price, p.pk),
            "newest": lambda p: (not p.in_stock, -p.created_at.timestamp(), -p.pk),
        }[sort],
    )
    assert ids(everything)[:2] == [p.pk for p in expected][:2]
    prices = [
        Decimal(h["product"]["price"]) for h in everything["results"] if h["product"]["in_stock"]
    ]
    if sort != "newest":
        assert prices == sorted(prices, reverse=sort == "price_desc")
    assert [pk for page in pages for pk in ids(page)] == ids(everything)
    assert everything["facets"] == by_relevance["facets"] and everything["sort"] == sort


def test_facets_are_disjunctive_within_and_conjunctive_across(client, linen):
    both = search(client, q="linen", category=["dress", "shirt"], page_size=100)
    blue_dresses = search(client, q="linen", category="dress", color="Blue", page_size=100)

    assert both["total"] == 5
    # The other categories stay on offer with their counts: ticking one hides none.
    assert facet(both, "category") == {"dress": (3, True), "shirt": (2, True), "pants": (2, False)}
    assert facet(both, "brand") == {"Alder": (3, False), "Birch": (2, False)}
    assert blue_dresses["total"] == 2
    assert facet(blue_dresses, "color") == {"Blue": (2, True), "Red": (1, False)}
    assert facet(blue_dresses, "category")["pants"] == (1, False)  # the blue pants
    assert {h["product"]["color"] for h in blue_dresses["results"]} == {"Blue"}


def test_variants_show_as_one_tile_and_count_once(client, linen):
    dresses = linen.filter(category__slug="dress")
    dresses.update(item_group_id="LINEN-DRESS")

    body = search(client, q="linen", page_size=100)

    assert body["total"] == 5  # three dresses are one item
    (tile,) = [h for h in body["results"] if h["product"]["item_group_id"] == "LINEN-DRESS"]
    assert tile["variants"] == {"count": 3, "colors": ["Blue", "Red"], "sizes": ["L", "M", "S"]}
    assert facet(body, "category")["dress"] == (1, False)
    assert facet(body, "color")["Blue"] == (3, False)  # dress, shirt, pants: not 4
    red = search(client, q="linen", color="Red")
    assert ids(red) == list(dresses.filter(color="Red").values_list("pk", flat=True))


def test_matched_words_are_marked_and_the_rest_escaped(client, linen):
    product = linen.first()
    Product.objects.filter(pk=product.pk).update(title="Linen <b>bold</b> dress")

    body = search(client, q="linen", page_size=100)

    (hit,) = [h for h in body["results"] if h["product"]["id"] == product.pk]
    assert hit["highlight"]["title"] == "<mark>Linen</mark> &lt;b&gt;bold&lt;/b&gt; dress"
    assert "washed <mark>linen</mark>" in hit["highlight"]["description"]
    page = client.get("/search/", {"q": "linen"}).content.decode()
    assert "<mark>Linen</mark> &lt;b&gt;bold&lt;/b&gt; dress" in page


@pytest.mark.parametrize(
    ("rule", "out_of_stock_shown"),
    [(OutOfStockResults.LAST, "last"), (OutOfStockResults.HIDE, "never"), ("unchanged", "ranked")],
)
def test_the_merchants_out_of_stock_rule(client, linen, rule, out_of_stock_shown):
    owner = Client()
    owner.force_login(merchant_user(Merchant.objects.get(slug="demo")))
    settings_url = "/api/v1/merchant/search-settings/"
    assert owner.get(settings_url).json() == {"out_of_stock_results": "last"}
    changed = owner.patch(settings_url, {"out_of_stock_results": rule}, "application/json")
    assert changed.status_code == 200
    refused = owner.patch(settings_url, {"out_of_stock_results": "sideways"}, "application/json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_choice"
    assert Merchant.objects.get(slug="demo").out_of_stock_results == rule
    (sold_out,) = linen.filter(stock_quantity=0)

    body = search(client, q="linen", sort="price_asc", page_size=100)

    shown = ids(body)
    if out_of_stock_shown == "never":
        assert sold_out.pk not in shown and body["total"] == 6
    elif out_of_stock_shown == "last":
        assert shown[-1] == sold_out.pk
    else:  # 60.00: second most expensive of seven
        assert shown.index(sold_out.pk) == 5


def test_a_merchant_sets_the_out_of_stock_rule_in_the_admin(client, linen):
    demo = Merchant.objects.get(slug="demo")
    other = Merchant.objects.create(name="Other shop", slug="other")
    owner = Client()
    owner.force_login(merchant_user(demo))
    own_page = f"/admin/retrieval/searchsettings/{demo.pk}/change/"

    listing = owner.get("/admin/retrieval/searchsettings/")
    assert listing.status_code == 302 and listing["Location"] == own_page
    page = owner.get(own_page).content.decode()
    assert '<label class="required" for="id_out_of_stock_results">' in page
    refused = owner.post(own_page, {"out_of_stock_results": "sideways"})
    saved = owner.post(own_page, {"out_of_stock_results": "hide", "name": "Renamed"}, follow=True)
    elsewhere = owner.post(
        f"/admin/retrieval/searchsettings/{other.pk}/change/", {"out_of_stock_results": "hide"}
    )

    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert "Search settings saved." in saved.content.decode()
    assert elsewhere.status_code == 302  # not found: another shop's settings
    name = demo.name
    demo.refresh_from_db(), other.refresh_from_db()
    assert (demo.out_of_stock_results, other.out_of_stock_results) == ("hide", "last")
    assert demo.name == name  # shown, never changed here
    (sold_out,) = linen.filter(stock_quantity=0)
    assert sold_out.pk not in ids(search(client, q="linen", page_size=100))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": "linen", "sort": "cheapest"}, "invalid_choice"),
        ({"q": "linen", "brand": "Nobody"}, "unknown_brand"),
        ({"q": "linen", "color": "Ultraviolet"}, "unknown_color"),
        ({"q": "linen", "size": ["S", "XXXXL"]}, "unknown_size"),
        ({"q": "linen", "category": "no-such-category"}, "unknown_category"),
    ],
)
def test_bad_sort_and_facet_values_are_400(client, linen, params, code):
    response = client.get("/api/v1/search/", params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
