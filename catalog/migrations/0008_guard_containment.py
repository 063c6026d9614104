"""Issue 17: the registry keeps its PDQ upright (as it is and without borders) and upright
keypoints; pHash is no signal any more.

A check now looks up the 8 rotations and mirrors of its own PDQ and sends its mirrored
descriptors itself, so the mirrored PDQ and the mirrored keypoint rows are dropped (half the
keypoint index). Stored hashes stay valid; the trimmed one starts as a copy of the whole one
(right for every image without borders) until `manage.py guard_refingerprint` recomputes the
signals from the stored files.
"""

import pgvector.django
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_keypoint_position"),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM catalog_registrykeypoint WHERE mirrored",
            reverse_sql=migrations.RunSQL.noop,
            elidable=False,
        ),
        migrations.RemoveField(model_name="registrykeypoint", name="mirrored"),
        migrations.RemoveIndex(model_name="generatedimage", name="generated_pdq_mirror_hnsw"),
        migrations.RemoveIndex(model_name="generatedimage", name="generated_phash_hnsw"),
        migrations.RemoveIndex(model_name="productimage", name="image_phash_hnsw"),
        migrations.RemoveField(model_name="generatedimage", name="pdq_mirror"),
        migrations.RemoveField(model_name="generatedimage", name="phash"),
        migrations.RemoveField(model_name="productimage", name="phash"),
        migrations.AddField(
            model_name="generatedimage",
            name="pdq_trimmed",
            field=pgvector.django.BitField(length=256, null=True),
        ),
        migrations.RunSQL(
            "UPDATE catalog_generatedimage SET pdq_trimmed = pdq",
            reverse_sql=migrations.RunSQL.noop,
            elidable=False,
        ),
        migrations.AlterField(
            model_name="generatedimage",
            name="pdq_trimmed",
            field=pgvector.django.BitField(length=256),
        ),
        migrations.AddIndex(
            model_name="generatedimage",
            index=pgvector.django.HnswIndex(
                fields=["pdq_trimmed"],
                name="generated_pdq_trimmed_hnsw",
                opclasses=["bit_hamming_ops"],
            ),
        ),
    ]
