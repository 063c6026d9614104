from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations

# The words of the catalog (titles, descriptions, category names; unstemmed), for typo correction.
# Words with digits (SKUs, sizes, numbers) are left out: they are matched exactly or not at all.
# `compact` drops hyphens so "tshirt" and "t-shirt" compare equal. Refreshed by
# retrieval.keyword.lexicon_refresh after imports and indexing jobs.
# PostgreSQL 17+ refreshes materialized views with a safe search_path: the schema is named.
CREATE_LEXICON = r"""
DO $do$
DECLARE
    source text := format(
        'SELECT to_tsvector(%L, concat_ws(%L, p.title, p.description, c.name)) '
        'FROM %I.catalog_product p LEFT JOIN %I.catalog_category c ON c.id = p.category_id',
        'simple', ' ', current_schema(), current_schema());
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
    dependencies = [
        ("retrieval", "0001_initial"),
        ("catalog", "0002_strict_fidelity_and_full_text"),
    ]

    operations = [
        TrigramExtension(),
        CreateExtension("fuzzystrmatch"),
        migrations.RunSQL(CREATE_LEXICON, "DROP MATERIALIZED VIEW retrieval_search_lexicon;"),
    ]
