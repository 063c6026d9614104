"""Catalog jobs on the Postgres queue: re-check the catalog when a generated image is registered."""

import logging

from procrastinate.contrib.django import app

from catalog import services
from catalog.models import GeneratedImage

logger = logging.getLogger("fidelis.guard")


@app.task(name="catalog.recheck_catalog_against", queue="guard")
def recheck_catalog_against(entry_id: int) -> int:
    entry = GeneratedImage.objects.filter(pk=entry_id).first()
    if entry is None:  # the entry was deleted before the job ran
        return 0
    quarantined = services.catalog_recheck_against(entry=entry)
    for image in quarantined:
        logger.warning("Quarantined product image %s: matches generated #%s", image.pk, entry_id)
    return len(quarantined)
