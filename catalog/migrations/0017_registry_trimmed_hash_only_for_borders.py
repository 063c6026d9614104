"""The registry keeps a trimmed PDQ only where trimming changed it: the HNSW index of trimmed
hashes then holds only images with plain borders, and a check's lookups there are nearly free."""

import pgvector.django
from django.db import migrations

_KEEP_ONLY_CHANGED = """
UPDATE catalog_generatedimage SET pdq_trimmed = NULL WHERE pdq_trimmed = pdq;
REINDEX INDEX generated_pdq_trimmed_hnsw;
"""
_BACK = "UPDATE catalog_generatedimage SET pdq_trimmed = pdq WHERE pdq_trimmed IS NULL"


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0016_registry_keypoint_entry_brin"),
    ]

    operations = [
        migrations.AlterField(
            model_name="generatedimage",
            name="pdq_trimmed",
            field=pgvector.django.BitField(blank=True, length=256, null=True),
        ),
        # REINDEX: the rows set to NULL would stay in the graph as dead tuples until a vacuum.
        migrations.RunSQL(_KEEP_ONLY_CHANGED, _BACK),
    ]
