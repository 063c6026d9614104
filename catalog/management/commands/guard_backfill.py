"""manage.py guard_backfill: fingerprint catalog images saved before the guard stored hashes,
and check each against the registry (quarantining matches), so re-checks can see them too."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from catalog.models import ProductImage
from catalog.services import product_image_backfill_guard


class Command(BaseCommand):
    help = (
        "Store hashes and keypoints for older catalog images and check them against the registry."
    )

    def handle(self, *args, **options):
        pending = ProductImage.objects.filter(pdq__isnull=True).order_by("pk")
        quarantined = 0
        for image in tqdm(pending.iterator(), total=pending.count(), unit="image"):
            quarantined += product_image_backfill_guard(image=image)
        self.stdout.write(f"{quarantined} quarantined")
