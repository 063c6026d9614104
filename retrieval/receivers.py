"""What retrieval does when the catalog announces something.

Receivers live at module level and are connected with weak=False: Django keeps only a weak
reference by default, and a function defined inside AppConfig.ready() is then collected as soon
as ready() returns, in every process that nothing else happens to keep it alive in (a
benchmark's, a management command's). The announcement then reached no one and new products
were never indexed.
"""

from __future__ import annotations

from django.db import transaction

from catalog.signals import (
    catalog_visibility_changed,
    product_images_added,
    product_images_removed,
)


def queue_embedding_of_new_images(sender, image_ids: list[int], **kwargs) -> None:
    from retrieval.tasks import embedding_job_defer

    embedding_job_defer()


def refresh_lexicon_after_visibility_change(sender, **kwargs) -> None:
    from retrieval.tasks import lexicon_refresh_defer

    lexicon_refresh_defer()


def recompute_vectors_after_removal(sender, product_ids: set[int], **kwargs) -> None:
    from retrieval.indexing import product_vectors_recompute

    # A few queries, no model: done in the request, once the removal committed.
    transaction.on_commit(lambda: product_vectors_recompute(product_ids=set(product_ids)))


def connect() -> None:
    product_images_added.connect(
        queue_embedding_of_new_images, weak=False, dispatch_uid="retrieval-embed-new-images"
    )
    product_images_removed.connect(
        recompute_vectors_after_removal, weak=False, dispatch_uid="retrieval-vectors-after-removal"
    )
    catalog_visibility_changed.connect(
        refresh_lexicon_after_visibility_change,
        weak=False,
        dispatch_uid="retrieval-refresh-lexicon",
    )
