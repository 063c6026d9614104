"""Issue 17: the registry keeps one PDQ and upright keypoints; pHash is no signal any more.

A check now looks up the 8 rotations and mirrors of its own PDQ and sends its mirrored
descriptors itself, so the mirrored PDQ and the mirrored keypoint rows are dropped (half the
keypoint index). Hashes already stored stay valid: an image without borders hashes the same
with the border trim (`manage.py guard_refingerprint` recomputes them from the stored files).
"""

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
    ]
