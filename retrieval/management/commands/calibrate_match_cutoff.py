"""manage.py calibrate_match_cutoff JUDGEMENTS.csv: the vector cut-off from a shop's judgements.

The file has a header and the columns query, sku, grade (0 = not relevant, 1-3 = relevant), the
shape of Quepid's and most judgement tools' exports. For each judged pair the command measures
the cosine similarity between the query's text vector and the product's vector, and prints the
cut-off that best separates relevant from not relevant (the highest F1), with the precision and
recall at each candidate. Set FIDELIS_VECTOR_MATCH_SIMILARITY to it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Merchant, Product
from retrieval.encoders import get_encoder
from retrieval.vector import product_vector


def best_cut_off(similarities: np.ndarray, relevant: np.ndarray) -> tuple[float, list[tuple]]:
    """(the cut-off of the highest F1, [(cut-off, precision, recall, F1) per candidate]).

    Candidates lie halfway between consecutive measured similarities: a match is `> cut-off`.
    """
    values = np.unique(similarities)
    candidates = [values[0] - 1e-3, *((values[1:] + values[:-1]) / 2)]
    table = []
    for cut in candidates:
        kept = similarities > cut
        hits = int((kept & relevant).sum())
        precision = hits / kept.sum() if kept.sum() else 0.0
        recall = hits / relevant.sum() if relevant.sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        table.append((float(cut), precision, recall, f1))
    best = max(table, key=lambda row: (row[3], row[0]))
    return best[0], table


class Command(BaseCommand):
    help = "Print the FIDELIS_VECTOR_MATCH_SIMILARITY that best fits a judgement list."

    def add_arguments(self, parser):
        parser.add_argument("judgements", type=Path, help="CSV with query, sku, grade columns")
        parser.add_argument("--merchant", required=True, help="the shop whose SKUs are judged")

    def handle(self, *args, judgements: Path, merchant: str, **options):
        shop = Merchant.objects.filter(slug=merchant).first()
        if shop is None:
            raise CommandError(f"No merchant {merchant!r}: pass the slug of an existing shop.")
        rows = _read(judgements)
        encoder = get_encoder()
        skus = {row["sku"] for row in rows}
        products = dict(
            Product.objects.filter(merchant=shop, sku__in=skus).values_list("sku", "pk")
        )
        queries = sorted({row["query"] for row in rows})
        query_vectors = dict(zip(queries, encoder.encode_texts(queries), strict=True))
        similarities, relevant, skipped = [], [], 0
        for row in rows:
            vector = (
                product_vector(products[row["sku"]], encoder=encoder)
                if row["sku"] in products
                else None
            )
            if vector is None:
                skipped += 1  # unknown SKU, or not indexed yet
                continue
            similarities.append(float(np.dot(query_vectors[row["query"]], vector)))
            relevant.append(row["grade"] > 0)
        relevant_arr = np.array(relevant, dtype=bool)
        if not relevant_arr.any() or relevant_arr.all():
            raise CommandError(
                "The judgements need both relevant (grade 1-3) and not relevant (grade 0) "
                "pairs of indexed products to place a cut-off between them."
            )
        cut, table = best_cut_off(np.array(similarities), relevant_arr)
        self.stdout.write(
            f"{len(similarities)} judged pairs of {len(queries)} queries "
            f"({skipped} skipped: unknown SKU or not indexed), {encoder.identity}"
        )
        self.stdout.write("cut-off   precision  recall  F1")
        for row in table[:: max(1, len(table) // 20)]:
            self.stdout.write("{:8.4f}  {:9.3f}  {:6.3f}  {:.3f}".format(*row))
        self.stdout.write(f"FIDELIS_VECTOR_MATCH_SIMILARITY={cut:.4f}")


def _read(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {"query", "sku", "grade"} - set(reader.fieldnames or ())
            if missing:
                raise CommandError(
                    f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                    "expected query, sku, grade."
                )
            rows = []
            for number, row in enumerate(reader, start=2):
                try:
                    grade = int(row["grade"])
                except ValueError:
                    raise CommandError(f"{path}, line {number}: grade must be 0 to 3.") from None
                rows.append(
                    {"query": row["query"].strip(), "sku": row["sku"].strip(), "grade": grade}
                )
    except (OSError, UnicodeDecodeError) as err:
        raise CommandError(f"Cannot read {path}: {err}") from err
    return rows
