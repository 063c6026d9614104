from django.db import migrations

# The lexicon (typo correction, "did you mean") holds only the words of searchable products:
# active, merchant published, at least one image that passed the guard. The same rule as
# catalog.selectors.products_searchable, in SQL: a hidden product's words must never be offered.
CREATE_LEXICON = r"""
DROP MATERIALIZED VIEW IF EXISTS retrieval_search_lexicon;
DO $do$
DECLARE
    source text := format(
        'SELECT to_tsvector(%L, concat_ws(%L, p.title, p.description, c.name)) '
        'FROM %I.catalog_product p '
        'JOIN %I.catalog_merchant m ON m.id = p.merchant_id AND m.is_published '
        'LEFT JOIN %I.catalog_category c ON c.id = p.category_id '
        'WHERE p.is_active AND EXISTS (SELECT 1 FROM %I.catalog_productimage i '
        'WHERE i.product_id = p.id AND i.guard_status = %L)',
        'simple', ' ', current_schema(), current_schema(), current_schema(), current_schema(),
        'passed');
BEGIN
    EXECUTE format(
        'CREATE MATERIALIZED VIEW retrieval_search_lexicon AS '
        'SELECT word, replace(word, %L, %L) AS compact FROM ts_stat(%L) '
        'WHERE length(word) >= 3 AND word !~ %L',
        '-', '', source, '[0-9]');
END
$do$;
CREATE UNIQUE INDEX retrieval_search_lexicon_word ON retrieval_search_lexicon (word);
CREATE INDEX retrieval_search_lexicon_compact ON retrieval_search_lexicon (compact);
CREATE INDEX retrieval_search_lexicon_trgm ON retrieval_search_lexicon
    USING gin (compact gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0002_keyword_search"), ("catalog", "0007_keypoint_position")]

    operations = [migrations.RunSQL(CREATE_LEXICON, migrations.RunSQL.noop)]
