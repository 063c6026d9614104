"""Importing a product feed: every row upserted by its `id`, each on its own, all reported."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.concurrent_reads import map_ahead
from catalog.feeds.errors import FeedError, RowError
from catalog.feeds.fetching import image_source_read
from catalog.feeds.items import ParsedItem, item_parse
from catalog.feeds.reading import feed_rows
from catalog.models import FeedImport, Merchant, Product
from catalog.selectors import products_with_images
from catalog.services.products import Upsert, product_images_admit, product_upsert
from catalog.signals import catalog_visibility_changed

# Rows looked up together: one query for their products and one for their images (500 took
# the lookups from 2 queries per row to 2 per 500).
LOOKUP_BATCH = 500
# A row's new images are read and checked by the guard (decode, hashes, keypoints, lookups) a
# few rows ahead, on two threads, while this one writes the rows before them (rows, keypoint
# index inserts, commits): the two halves of a row's work then overlap. 0: each row in turn.
ADMIT_AHEAD = 4


@dataclass
class FeedReport:
    merchant: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    errors: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len({error.row for error in self.errors})

    def summary(self) -> str:
        would = "would be " if self.dry_run else ""
        text = (
            f"{self.rows} rows: {self.created} {would}created, {self.updated} {would}updated, "
            f"{self.unchanged} unchanged, {self.deleted} {would}deleted, {self.failed} with errors"
        )
        if self.unknown_columns:
            text += f"; columns ignored: {', '.join(self.unknown_columns)}"
        return text + "."

    def as_dict(self) -> dict:
        return {
            "merchant": self.merchant,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": self.failed,
            "unknown_columns": self.unknown_columns,
            "errors": [error.as_dict() for error in self.errors],
            "summary": self.summary(),
        }


def _existing(merchant: Merchant, skus: list[str]) -> dict[str, Product]:
    products = products_with_images(
        Product.objects.filter(merchant=merchant, sku__in=skus).select_related("category")
    )
    return {product.sku: product for product in products}


def _batches(rows, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def feed_import(
    *,
    merchant: Merchant,
    stream: BinaryIO,
    name: str,
    base: Path | None = None,
    delete_missing: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, float], None] | None = None,
) -> FeedReport:
    """Upsert every row of a feed (CSV or JSON Lines, Merchant Center names) into `merchant`'s
    catalog. A bad row is reported (row, field, message) and skipped; the others go on, each
    written whole or not at all. Raises FeedError when the file itself cannot be read, before
    anything is written. `base`: the feed's folder, for image paths relative to it.
    `delete_missing`: products (with an SKU) that the feed no longer lists are deleted.
    `progress(rows, fraction of the file read)` is called after each batch.
    """
    report = FeedReport(merchant=merchant.slug, dry_run=dry_run)
    size = _size(stream)
    _check_utf8(stream)  # a bad byte in the last line must not stop an import half-way
    seen: dict[str, int] = {}  # SKU -> the row it first appeared in
    rows = feed_rows(
        stream,
        name=name,
        limit=settings.FIDELIS_FEED_MAX_LINE_BYTES,
        unknown=report.unknown_columns,
    )

    def read_image(source: str) -> bytes:
        return image_source_read(source, base=base)

    def admit(pair: tuple[ParsedItem, Product | None]) -> dict:
        item, product = pair
        return product_images_admit(merchant=merchant, item=item, product=product, read=read_image)

    for batch in _batches(rows, LOOKUP_BATCH):
        items = []
        for raw in batch:
            report.rows += 1
            if raw.error:
                report.errors.append(raw.error)
                continue
            item = item_parse(raw.values, row=raw.number)
            if item.sku and item.sku in seen:
                message = (
                    f"id {item.sku} already appeared in row {seen[item.sku]}: this row was skipped."
                )
                report.errors.append(RowError(raw.number, "id", message, "duplicate_id"))
                continue
            if item.sku:
                seen[item.sku] = raw.number
            items.append((raw.number, item))
        existing = _existing(merchant, [item.sku for _, item in items if item.sku])
        pairs = [(item, existing.get(item.sku)) for _, item in items]
        ahead = (
            map_ahead(admit, pairs, ahead=ADMIT_AHEAD)
            if ADMIT_AHEAD and not dry_run
            else [None] * len(items)  # each upsert admits its own images, if it writes
        )
        for (number, item), admitted in zip(items, ahead, strict=True):
            outcome = product_upsert(
                merchant=merchant,
                item=item,
                existing=existing.get(item.sku),
                read_image=read_image,
                dry_run=dry_run,
                admitted_ahead=admitted,
                looked_up=True,
            )
            _count(report, outcome, number)
        if progress:
            progress(report.rows, stream.tell() / size if size else 1.0)
    if delete_missing:
        report.deleted = _delete_missing(merchant, set(seen), dry_run=dry_run)
    if (report.created or report.updated) and not dry_run:
        catalog_visibility_changed.send(sender=Product)  # new words for typo correction
    return report


def _count(report: FeedReport, outcome: Upsert, row: int) -> None:
    if outcome.action == "failed":
        report.errors.extend(
            RowError(row, error.field, error.message, error.code) for error in outcome.errors
        )
    else:
        setattr(report, outcome.action, getattr(report, outcome.action) + 1)


def _check_utf8(stream: BinaryIO) -> None:
    """Raises FeedError if the file is not UTF-8 (one pass, in chunks; ~1 s per 500 MB)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while chunk := stream.read(2**20):
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as err:
        line = _line_of(stream, offset + err.start)
        raise FeedError(
            f"Line {line} is not UTF-8: save the feed as UTF-8 and import it again.",
            code="not_utf8",
        ) from None
    finally:
        stream.seek(0)


def _line_of(stream: BinaryIO, position: int) -> int:
    stream.seek(0)
    lines, read = 1, 0
    while read < position and (chunk := stream.read(min(2**20, position - read))):
        lines += chunk.count(b"\n")
        read += len(chunk)
    return lines


def _size(stream: BinaryIO) -> int:
    position = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(position)
    return size


def _delete_missing(merchant: Merchant, listed: set[str], *, dry_run: bool) -> int:
    """Delete the merchant's products with an SKU the feed did not list (rows with errors
    count as listed: a typo in a price never deletes a product)."""
    missing = [
        pk
        for pk, sku in Product.objects.filter(merchant=merchant)
        .exclude(sku="")
        .values_list("pk", "sku")
        if sku not in listed
    ]
    if dry_run or not missing:
        return len(missing)
    with transaction.atomic():
        for start in range(0, len(missing), LOOKUP_BATCH):
            Product.objects.filter(pk__in=missing[start : start + LOOKUP_BATCH]).delete()
    catalog_visibility_changed.send(sender=Product)
    return len(missing)


def feed_import_submit(
    *, merchant: Merchant, user, upload, delete_missing: bool = False, dry_run: bool = False
) -> FeedImport:
    """Store an uploaded feed and queue its import (the job starts once this commits)."""
    from catalog.tasks import import_feed_job  # tasks import services

    job = FeedImport(
        merchant=merchant, delete_missing=delete_missing, dry_run=dry_run, created_by=user
    )
    job.file.save(Path(upload.name).name or "feed.csv", upload, save=False)
    job.save()
    transaction.on_commit(lambda: import_feed_job.defer(feed_import_id=job.pk))
    return job


def feed_import_run(*, job: FeedImport) -> FeedImport:
    """Run a queued feed import, recording its progress as it goes. An uploaded feed names its
    images by URL only: a path would read files on the worker."""
    FeedImport.objects.filter(pk=job.pk).update(status=FeedImport.Status.RUNNING)

    def progress(rows: int, fraction: float) -> None:
        FeedImport.objects.filter(pk=job.pk).update(rows=rows, progress=min(fraction, 1.0))

    try:
        with job.file.open("rb") as stream:
            report = feed_import(
                merchant=job.merchant,
                stream=stream,
                name=job.file.name,
                base=None,
                delete_missing=job.delete_missing,
                dry_run=job.dry_run,
                progress=progress,
            )
    except FeedError as err:
        job.status, job.error = FeedImport.Status.FAILED, err.message
    else:
        job.status, job.report, job.rows = FeedImport.Status.DONE, report.as_dict(), report.rows
        job.progress = 1.0
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "report", "rows", "progress", "finished_at"])
    return job
