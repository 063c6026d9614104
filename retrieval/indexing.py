"""Turning product images into vectors, in batches, safely from any number of workers."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Now
from tqdm import tqdm

from catalog.models import ProductImage
from retrieval.encoders import ClipEncoder, get_encoder
from retrieval.keyword import lexicon_refresh
from retrieval.models import ImageEmbedding, PendingImage, ProductEmbedding
from retrieval.vector_index import ensure_vector_indexes

logger = logging.getLogger("fidelis.indexing")

# ViT-B-32 bf16 on 2 cores: 42 images/s at batch 1, 82 at batch 32 (../shared/MODELS.md).
BATCH_SIZE = 32
# JPEG decode and resize release the GIL: two threads overlap them on the two cores.
DECODE_THREADS = 2


def _read_pixels(encoder: ClipEncoder, image: ProductImage) -> torch.Tensor | None:
    try:
        with image.file.open("rb") as fh:
            return encoder.load_image(fh.read())
    except Exception:  # a missing or unreadable file must not stop the other images
        logger.exception(
            "Cannot read image %s (%s); it stays unindexed and is tried again later",
            image.pk,
            image.file.name,
        )
        return None


# A worker finds new images in the backlog (PendingImage: a batch costs the same at any catalog
# size; the anti-join over every image took 68-79 ms a batch at 100,000 images). What the
# backlog cannot tell, images without a vector for a second encoder or whose vector was
# deleted, a scan of every image finds: at a process's first run for an encoder, then at most
# every FIDELIS_INDEXING_FULL_SCAN_S.
_last_full_scan: dict[str, float] = {}


def _full_scan_due(identity: str) -> bool:
    now = time.monotonic()
    if now - _last_full_scan.get(identity, -math.inf) < settings.FIDELIS_INDEXING_FULL_SCAN_S:
        return False
    _last_full_scan[identity] = now
    return True


def _backlog_prune(identity: str) -> None:
    """Backlog rows of images that have this encoder's vector already (a bulk load's, images
    another encoder's worker embedded): dropped, so the backlog stays the size of the work."""
    PendingImage.objects.filter(image__embeddings__encoder=identity).delete()


# An image whose file could not be read is tried again after a minute, then twice as late each
# time, up to a day: a file restored within minutes (a storage outage) is embedded soon, and a
# broken one costs a read a day rather than a job every sweep.
READ_RETRY_FIRST_S = 60
READ_RETRY_MAX_S = 24 * 3600


def _backlog_due():
    """Backlog rows to embed now: new images, and unreadable ones whose next try has come."""
    return PendingImage.objects.filter(Q(retry_at__isnull=True) | Q(retry_at__lte=Now()))


def backlog_waiting() -> bool:
    """Whether an image in the backlog is due (new, or unreadable and due to be tried again)."""
    return _backlog_due().exists()


def _reads_failed(image_ids: list[int]) -> None:
    """Put unreadable images back in the backlog with their next try further off (a full
    scan's image may have had no backlog row). The exponent is capped: 2^1024 overflows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO retrieval_pendingimage AS pending (image_id, failed_reads, retry_at)
            SELECT id, 1, now() + make_interval(secs => %(first)s)
            FROM unnest(%(ids)s::bigint[]) AS id
            ON CONFLICT (image_id) DO UPDATE SET
                failed_reads = pending.failed_reads + 1,
                retry_at = now() + make_interval(
                    secs => least(%(first)s * power(2, least(pending.failed_reads, 20)), %(most)s)
                )
            """,
            {"ids": image_ids, "first": READ_RETRY_FIRST_S, "most": READ_RETRY_MAX_S},
        )


# A worker keeping up with an import finds an image or two each time it looks, and a batch of
# one costs about twice the CPU an image that a batch of 8 or more does (the int8 ViT-B-32 on
# 2 cores: 49 vs 25 ms in Python, 5 vs 1 in PostgreSQL): so while images keep arriving it waits
# for a few more, in steps, up to FIDELIS_INDEXING_GATHER_S. A lone new image waits one step.
GATHER_BATCH = 8
GATHER_STEP_S = 0.1


def _backlog_gather(max_wait_s: float) -> None:
    def waiting() -> int:
        return _backlog_due()[:GATHER_BATCH].count()

    deadline = time.monotonic() + max_wait_s
    count = waiting()
    while 0 < count < GATHER_BATCH and time.monotonic() < deadline:
        time.sleep(GATHER_STEP_S)
        before, count = count, waiting()
        if count <= before:
            return  # nothing arrived meanwhile: no import is feeding the backlog


def _claim_batch(identity: str, *, full: bool, unreadable: set[int]) -> list[ProductImage]:
    images = ProductImage.objects.exclude(embeddings__encoder=identity)
    if full:
        not_yet = PendingImage.objects.filter(retry_at__gt=Now())
        images = images.exclude(pk__in=not_yet.values("image_id"))
    else:
        images = images.filter(pk__in=_backlog_due().values("image_id"))
    return list(
        images.exclude(pk__in=unreadable)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")[:BATCH_SIZE]
    )


def embed_pending_images(
    *,
    encoder: ClipEncoder | None = None,
    on_batch: Callable[[int], None] | None = None,
    gather_s: float = 0.0,
) -> int:
    """Embed every image that has no vector for `encoder` yet; return how many were embedded.

    Each batch claims its rows with FOR UPDATE SKIP LOCKED, so workers on several machines
    share the backlog without doing an image twice. With `gather_s` (queue workers), a small
    backlog that is still growing is given up to that long to fill a batch first. Callers
    refresh the typo-correction lexicon afterwards (the queue's task debounces it: a refresh
    reads the whole catalog).
    """
    encoder = encoder or get_encoder()
    ensure_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)
    full = _full_scan_due(encoder.identity)
    if full:
        _backlog_prune(encoder.identity)
    unreadable: set[int] = set()
    embedded = 0
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        while True:
            if gather_s and not full:
                _backlog_gather(gather_s)
            with transaction.atomic():
                batch = _claim_batch(encoder.identity, full=full, unreadable=unreadable)
                if not batch:
                    return embedded
                pixels = list(pool.map(lambda image: _read_pixels(encoder, image), batch))
                readable = [
                    (img, px) for img, px in zip(batch, pixels, strict=True) if px is not None
                ]
                failed = [img.pk for img, px in zip(batch, pixels, strict=True) if px is None]
                if failed:
                    unreadable.update(failed)
                    _reads_failed(failed)
                if readable:
                    vectors = encoder.encode_images(torch.stack([px for _, px in readable]))
                    ImageEmbedding.objects.bulk_create(
                        [
                            ImageEmbedding(image=img, encoder=encoder.identity, vector=vec)
                            for (img, _), vec in zip(readable, vectors, strict=True)
                        ],
                        ignore_conflicts=True,
                    )
                    PendingImage.objects.filter(
                        image_id__in=[img.pk for img, _ in readable]
                    ).delete()
                    product_vectors_refresh(
                        product_ids={img.product_id for img, _ in readable},
                        encoder_identity=encoder.identity,
                    )
            embedded += len(readable)
            if on_batch:
                on_batch(len(batch))


def embed_in_this_process(encoder: ClipEncoder) -> int:
    """Embed every image still without a vector, here and now, with a progress bar; then
    refresh the typo-correction lexicon once. What `demo` and `reindex` run before serving."""
    pending = ProductImage.objects.exclude(embeddings__encoder=encoder.identity).count()
    with tqdm(total=pending, desc="Indexing", unit="image", file=sys.stderr) as bar:
        embedded = embed_pending_images(encoder=encoder, on_batch=bar.update)
    lexicon_refresh()
    return embedded


def product_vectors_refresh(*, product_ids: set[int], encoder_identity: str) -> None:
    """Set each product's vector to the normalised mean of its image vectors."""
    by_product: dict[int, list[np.ndarray]] = defaultdict(list)
    rows = ImageEmbedding.objects.filter(
        image__product_id__in=product_ids, encoder=encoder_identity
    ).values_list("image__product_id", "vector")
    for product_id, vector in rows:
        by_product[product_id].append(np.asarray(vector, dtype=np.float32))
    ProductEmbedding.objects.bulk_create(
        [
            ProductEmbedding(product_id=pid, encoder=encoder_identity, vector=_unit(np.mean(vs, 0)))
            for pid, vs in by_product.items()
        ],
        update_conflicts=True,
        unique_fields=["product", "encoder"],
        update_fields=["vector", "updated_at"],
    )


def product_vectors_recompute(*, product_ids: set[int]) -> None:
    """After images were removed: each product's vector from the images it has left, for
    every encoder that had one (none left: no vector, so text search stops finding it by a
    photo it no longer has)."""
    encoders = ProductEmbedding.objects.filter(product_id__in=product_ids).values_list(
        "encoder", flat=True
    )
    for identity in set(encoders):
        product_vectors_refresh(product_ids=product_ids, encoder_identity=identity)
        still = ImageEmbedding.objects.filter(
            image__product_id__in=product_ids, encoder=identity
        ).values_list("image__product_id", flat=True)
        ProductEmbedding.objects.filter(
            product_id__in=product_ids - set(still), encoder=identity
        ).delete()


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
