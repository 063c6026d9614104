"""Judgement lists in and out, in three formats:

- csv: a header `query,sku,grade`;
- trec: TREC qrels lines `TOPIC 0 SKU GRADE`; qrels have no room for a query's text, so the
  topic is the query with its spaces written as `_`;
- quepid: Quepid's ratings CSV, `query,docid,rating` (its export's `Query Text`, `Doc ID` and
  `Rating` columns are read too).
"""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError
from django.db import transaction

from analytics.events import normalised
from analytics.models import Judgement
from catalog.models import Merchant

FORMATS = ("csv", "trec", "quepid")
_COLUMNS = {
    "csv": ("query", "sku", "grade"),
    "quepid": ("query", "docid", "rating"),
}
_QUEPID_EXPORT_COLUMNS = {"Query Text": "query", "Doc ID": "docid", "Rating": "rating"}


def judgements_parse(text: str, *, fmt: str) -> list[tuple[str, str, int]]:
    """(query, sku, grade) rows; ValidationError naming the line that is wrong."""
    if fmt == "trec":
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 4:
                raise ValidationError(
                    f"line {number}: a qrels line has 4 fields (TOPIC 0 SKU GRADE).",
                    code="bad_judgement",
                )
            rows.append((parts[0].replace("_", " "), parts[2], _grade(parts[3], number)))
        return _normalised(rows)
    if fmt not in _COLUMNS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}.", code="bad_format")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = [_QUEPID_EXPORT_COLUMNS.get(name, name) for name in reader.fieldnames or []]
    query, doc, grade = _COLUMNS[fmt]
    if not {query, doc, grade} <= set(fields):
        raise ValidationError(
            f"the file's columns are {', '.join(reader.fieldnames or [])}; expected "
            f"{', '.join(_COLUMNS[fmt])}.",
            code="bad_judgement",
        )
    reader.fieldnames = fields
    return _normalised(
        (row[query], row[doc], _grade(row[grade], number))
        for number, row in enumerate(reader, start=2)
    )


def _grade(value: str, number: int) -> int:
    try:
        grade = int(str(value).strip())
    except ValueError:
        grade = -1
    if not 0 <= grade <= 3:
        raise ValidationError(f"line {number}: a grade is 0 to 3, not {value!r}.", code="bad_grade")
    return grade


def _normalised(rows) -> list[tuple[str, str, int]]:
    return [(normalised(query), sku.strip(), grade) for query, sku, grade in rows]


@transaction.atomic
def judgements_import(*, merchant: Merchant, rows: list[tuple[str, str, int]]) -> int:
    """Replace the merchant's grade of each (query, SKU) given; how many rows were written."""
    Judgement.objects.bulk_create(
        [Judgement(merchant=merchant, query=q, sku=s, grade=g) for q, s, g in rows],
        update_conflicts=True,
        unique_fields=["merchant", "query", "sku"],
        update_fields=["grade"],
    )
    return len(rows)


def judgements_export(*, merchant: Merchant, fmt: str) -> str:
    rows = merchant.judgements.order_by("query", "sku").values_list("query", "sku", "grade")
    if fmt == "trec":
        return "".join(f"{q.replace(' ', '_')} 0 {s} {g}\n" for q, s, g in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS[fmt])
    writer.writerows(rows)
    return out.getvalue()
