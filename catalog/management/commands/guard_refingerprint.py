"""manage.py guard_refingerprint: compute the guard's signals again from the stored files, after
the signals changed (issue 17: borders trimmed before hashing, upright keypoints only). Catalog
images are checked against the registry again on the way (quarantining matches)."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from catalog.models import GeneratedImage, ProductImage
from catalog.services import generated_image_refingerprint, product_image_backfill_guard


class Command(BaseCommand):
    help = "Recompute the provenance guard's hashes and keypoints from the stored files."

    def handle(self, *args, **options):
        entries = GeneratedImage.objects.exclude(file="").order_by("pk")
        for entry in tqdm(entries.iterator(), total=entries.count(), desc="registry", unit="img"):
            generated_image_refingerprint(entry=entry)
        images = ProductImage.objects.order_by("pk")
        quarantined = 0
        for image in tqdm(images.iterator(), total=images.count(), desc="catalog", unit="img"):
            quarantined += product_image_backfill_guard(image=image)
        self.stdout.write(f"{quarantined} catalog images quarantined")
