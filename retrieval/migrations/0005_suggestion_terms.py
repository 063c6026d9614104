from django.db import migrations

# The terms offered as a shopper types: category names, brands and title words, each with how
# many searchable products carry it. Built only from searchable products (the rule of
# catalog.selectors.products_searchable, in SQL), so a term only hidden products carry is never
# suggested. Refreshed with the lexicon (retrieval.keyword.lexicon_refresh).
CREATE_SUGGESTIONS = r"""
DROP MATERIALIZED VIEW IF EXISTS retrieval_suggestion_term;
DO $do$
DECLARE
    searchable text := format(
        'SELECT p.* FROM %I.catalog_product p '
        'JOIN %I.catalog_merchant m ON m.id = p.merchant_id AND m.is_published '
        'WHERE p.is_active AND EXISTS (SELECT 1 FROM %I.catalog_productimage i '
        'WHERE i.product_id = p.id AND i.guard_status = %L)',
        current_schema(), current_schema(), current_schema(), 'passed');
BEGIN
    EXECUTE format(
        'CREATE MATERIALIZED VIEW retrieval_suggestion_term AS '
        'SELECT lower(c.name) AS term, %L AS kind, count(*) AS hits '
        'FROM (%s) p JOIN %I.catalog_category c ON c.id = p.category_id GROUP BY lower(c.name) '
        'UNION ALL '
        'SELECT lower(p.brand), %L, count(*) FROM (%s) p WHERE p.brand <> %L '
        'GROUP BY lower(p.brand) '
        'UNION ALL '
        'SELECT word, %L, ndoc FROM ts_stat(%L) WHERE length(word) >= 3 AND word !~ %L',
        'category', searchable, current_schema(),
        'brand', searchable, '',
        'word', format('SELECT to_tsvector(%L, p.title) FROM (%s) p', 'simple', searchable),
        '[0-9]');
END
$do$;
CREATE UNIQUE INDEX retrieval_suggestion_term_key ON retrieval_suggestion_term (term, kind);
CREATE INDEX retrieval_suggestion_term_prefix ON retrieval_suggestion_term
    (term text_pattern_ops);
CREATE INDEX retrieval_suggestion_term_trgm ON retrieval_suggestion_term
    USING gin (term gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0004_synonyms_and_merchandising_rules")]

    operations = [
        migrations.RunSQL(
            CREATE_SUGGESTIONS, "DROP MATERIALIZED VIEW IF EXISTS retrieval_suggestion_term"
        )
    ]
