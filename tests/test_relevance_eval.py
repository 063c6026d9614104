"""Relevance evaluation: the metrics by hand, search_eval on a small judgement list, --compare,
and judgement lists in CSV, TREC qrels and Quepid's CSV."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from analytics.models import Evaluation, Judgement
from analytics.relevance import scores
from catalog.models import Merchant
from catalog.services import merchant_create
from retrieval.synonyms import synonym_save
from tests.factories import merchant_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_metrics_match_a_hand_computation():
    got = scores("q", ["a", "b", "c", "x"], {"a": 0, "b": 3, "c": 1, "d": 2})

    # DCG = 7/log2(3) + 1/log2(4) = 4.9165; ideal (3, 2, 1) = 7 + 3/log2(3) + 1/2 = 9.3928
    assert got.ndcg_at_10 == pytest.approx(4.91650 / 9.39279, abs=1e-4)
    assert got.mrr == 0.5 and got.precision_at_10 == 0.2
    assert got.recall_at_100 == pytest.approx(2 / 3)


def judge(merchant, rows):
    Judgement.objects.bulk_create(
        Judgement(merchant=merchant, query=q, sku=s, grade=g) for q, s, g in rows
    )


def test_search_eval_scores_each_query_and_the_whole_list(indexed_catalog):
    demo = Merchant.objects.get(slug="demo")
    dresses = list(indexed_catalog.filter(category__slug="dress").values_list("sku", flat=True))
    shirt = indexed_catalog.filter(category__slug="shirt").first().sku
    judge(demo, [("dress", sku, 2) for sku in dresses] + [("dress", shirt, 0)])
    judge(demo, [("xqzvbnkw", shirt, 3)])  # nothing matches nonsense: all zero
    out = io.StringIO()

    call_command("search_eval", merchant="demo", stdout=out)

    lines = {line.split()[0]: line.split()[1:] for line in out.getvalue().splitlines()[1:]}
    # dress: the 5 dresses ranked first, ideal order -> nDCG 1, MRR 1, P@10 0.5, recall 1.
    assert lines["dress"] == ["1.0000", "1.0000", "0.5000", "1.0000"]
    assert lines["xqzvbnkw"] == ["0.0000", "0.0000", "0.0000", "0.0000"]
    assert lines["overall"] == ["0.5000", "0.5000", "0.2500", "0.5000"]
    owner = Client()
    owner.force_login(merchant_user(demo))
    page = owner.get("/admin/analytics/searchevent/").content.decode()
    assert "The latest evaluation on your judgements" in page and "<td>0.500</td>" in page


def test_compare_reports_what_a_change_costs(indexed_catalog):
    demo = Merchant.objects.get(slug="demo")
    synonym_save(merchant=demo, kind="one_way", terms=["jeans"], synonyms=["trousers"])
    trousers = indexed_catalog.filter(category__slug="pants").values_list("sku", flat=True)
    judge(demo, [("jeans", sku, 2) for sku in trousers])
    out = io.StringIO()

    call_command("search_eval", merchant="demo", compare=["synonyms=off"], stdout=out)

    assert "  recall@100  -1.0000" in out.getvalue()
    assert Evaluation.objects.count() == 2
    with pytest.raises(CommandError, match="NAME one of vector_cutoff, synonyms, rrf_k"):
        call_command("search_eval", merchant="demo", compare=["colour=blue"])


def test_judgement_lists_go_in_and_out_in_three_formats(indexed_catalog, tmp_path):
    demo, other = Merchant.objects.get(slug="demo"), merchant_create(name="O", slug="o")
    csv_file = tmp_path / "j.csv"
    csv_file.write_text("\ufeffquery,sku,grade\nNavy  Shirt,SKU-1,3\nnavy shirt,SKU-2,0\n")
    quepid = tmp_path / "quepid.csv"
    quepid.write_text("Team Name,Case Name,Query Text,Doc ID,Title,Rating\nt,c,hat,SKU-9,x,1\n")

    call_command(
        "search_judgements", "import", str(csv_file), merchant="demo", stdout=io.StringIO()
    )
    call_command(
        "search_judgements",
        "import",
        str(quepid),
        merchant="demo",
        format="quepid",
        stdout=io.StringIO(),
    )
    qrels = tmp_path / "j.qrels"
    call_command("search_judgements", "export", str(qrels), merchant="demo", format="trec")
    call_command(
        "search_judgements",
        "import",
        str(qrels),
        merchant="o",
        format="trec",
        stdout=io.StringIO(),
    )

    expected = [("hat", "SKU-9", 1), ("navy shirt", "SKU-1", 3), ("navy shirt", "SKU-2", 0)]
    assert qrels.read_text() == "hat 0 SKU-9 1\nnavy_shirt 0 SKU-1 3\nnavy_shirt 0 SKU-2 0\n"
    for shop in (demo, other):
        assert list(shop.judgements.values_list("query", "sku", "grade")) == expected
    exported = tmp_path / "out.csv"
    call_command("search_judgements", "export", str(exported), merchant="o", format="quepid")
    assert exported.read_text().splitlines()[0] == "query,docid,rating"


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("query,sku,grade\nshirt,A,5\n", "csv", "line 2: a grade is 0 to 3"),
        ("q,product\nshirt,A\n", "csv", "expected query, sku, grade"),
        ("shirt 0 A\n", "trec", "line 1: a qrels line has 4 fields"),
    ],
)
def test_a_bad_judgement_file_names_the_line_and_writes_nothing(
    indexed_catalog, tmp_path, text, fmt, message
):
    bad = tmp_path / "bad"
    bad.write_text(text)

    with pytest.raises(CommandError, match=message):
        call_command("search_judgements", "import", str(bad), merchant="demo", format=fmt)
    assert not Judgement.objects.exists()
