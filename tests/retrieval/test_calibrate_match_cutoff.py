"""calibrate_match_cutoff places the vector cut-off between a shop's relevant and irrelevant
judgements, and the search then counts the relevant vector-only hits as matches."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from retrieval.encoders import get_encoder
from retrieval.vector import product_vector

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_cut_off_separates_the_judgements(client, settings, indexed_catalog, tmp_path):
    encoder = get_encoder()
    (query_vector,) = encoder.encode_texts(["xqzvbnkw"])
    similarity = {
        p.sku: float(np.dot(query_vector, product_vector(p.pk, encoder=encoder)))
        for p in indexed_catalog
    }
    ranked = sorted(similarity, key=similarity.get, reverse=True)
    relevant, irrelevant = ranked[:3], ranked[-10:]
    judgements = tmp_path / "judgements.csv"
    judgements.write_text(
        "query,sku,grade\n"
        + "".join(f"xqzvbnkw,{sku},2\n" for sku in relevant)
        + "".join(f"xqzvbnkw,{sku},0\n" for sku in irrelevant)
        + "xqzvbnkw,NO-SUCH-SKU,3\n"
    )
    out = io.StringIO()

    call_command("calibrate_match_cutoff", str(judgements), merchant="demo", stdout=out)

    printed = out.getvalue()
    assert "13 judged pairs of 1 queries (1 skipped" in printed
    cut = float(printed.strip().splitlines()[-1].split("=")[1])
    assert max(similarity[s] for s in irrelevant) < cut < min(similarity[s] for s in relevant)
    settings.FIDELIS_VECTOR_MATCH_SIMILARITY = cut
    body = client.get("/api/v1/search/", {"q": "xqzvbnkw", "page_size": 100}).json()
    found = {hit["product"]["sku"] for hit in body["results"] if hit["signals"] == ["vector"]}
    assert set(relevant) <= found and not found & set(irrelevant)


def test_judgements_without_both_grades_name_the_fix(indexed_catalog, tmp_path):
    sku = indexed_catalog.first().sku
    judgements = tmp_path / "judgements.csv"
    judgements.write_text(f"query,sku,grade\nshirt,{sku},2\n")

    with pytest.raises(CommandError, match="both relevant"):
        call_command("calibrate_match_cutoff", str(judgements), merchant="demo")
    judgements.write_text("q,product\nshirt,x\n")
    with pytest.raises(CommandError, match="expected query, sku, grade"):
        call_command("calibrate_match_cutoff", str(judgements), merchant="demo")
