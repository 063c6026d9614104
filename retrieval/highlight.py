"""Matched words marked in titles and description snippets, by PostgreSQL's own stemming.

ts_headline finds "dresses" in "Dress" as the keyword half did. Its output is plain text with
two control characters around each match, escaped here before they become <mark> tags, so a
product's own text can never inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape

from config.replicas import read_connection

_START, _STOP = "\x02", "\x03"
_OPTIONS = f"StartSel={_START}, StopSel={_STOP}"
_HIGHLIGHT_SQL = f"""
SELECT id,
  ts_headline('english', title, query.terms, '{_OPTIONS}, HighlightAll=true'),
  ts_headline('english', description, query.terms,
    '{_OPTIONS}, MaxWords=30, MinWords=12, MaxFragments=1, FragmentDelimiter=" … "')
FROM catalog_product, (SELECT {{terms}}) AS query(terms)
WHERE id = ANY(%s)
"""


def marked(text: str) -> str:
    """ts_headline's output as safe HTML: escaped, with <mark> around the matches."""
    return escape(text).replace(_START, "<mark>").replace(_STOP, "</mark>")


def highlights(product_ids: Sequence[int], terms: Sequence[str]) -> dict[int, dict[str, str]]:
    """{product id: {"title": html, "description": html}} with `terms` marked."""
    statement = highlights_statement(product_ids, terms)
    if statement is None:
        return {}
    with read_connection().cursor() as cursor:
        cursor.execute(*statement)
        return highlights_read(cursor.fetchall())


def highlights_statement(product_ids: Sequence[int], terms: Sequence[str]):
    """(sql, params) of highlights(), for a caller that sends it with others; None: nothing
    to mark."""
    if not product_ids or not terms:
        return None
    tsquery = " || ".join(["plainto_tsquery('english', %s)"] * len(terms))
    return _HIGHLIGHT_SQL.format(terms=tsquery), [*terms, list(product_ids)]


def highlights_read(rows) -> dict[int, dict[str, str]]:
    return {
        pk: {"title": marked(title), "description": marked(description)}
        for pk, title, description in rows
    }
