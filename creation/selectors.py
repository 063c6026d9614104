"""Reads for create mode, always scoped to one merchant (another merchant's rows are 404)."""

from django.db.models import Count
from django.shortcuts import get_object_or_404

from catalog.models import GeneratedImage, Merchant
from creation.models import Board, CreateJob


def create_job_get(*, merchant: Merchant, pk: int) -> CreateJob:
    return get_object_or_404(CreateJob.objects.prefetch_related("images"), pk=pk, merchant=merchant)


def create_jobs_of(*, merchant: Merchant):
    return CreateJob.objects.filter(merchant=merchant).prefetch_related("images")[:50]


def concepts_of(*, merchant: Merchant):
    """The merchant's generated concepts, newest first, with what provenance needs.

    A registry row whose bytes were never stored (the process died between the two) is left out.
    """
    return (
        GeneratedImage.objects.filter(merchant=merchant)
        .exclude(file="")
        .select_related("source_image__product")
    )


def concept_get(*, merchant: Merchant, pk: int) -> GeneratedImage:
    """One of the merchant's generated images; another merchant's is a 404."""
    return get_object_or_404(concepts_of(merchant=merchant), pk=pk)


def job_concepts(*, job: CreateJob):
    """A job's concepts in the order they were made, with what their tiles show."""
    return job.images.select_related("source_image__product").order_by("pk")


def boards_of(*, merchant: Merchant):
    return Board.objects.filter(merchant=merchant).annotate(concept_count=Count("entries"))


def board_get(*, merchant: Merchant, pk: int) -> Board:
    return get_object_or_404(boards_of(merchant=merchant), pk=pk)


def board_concepts(*, board: Board) -> list[GeneratedImage]:
    """The board's concepts in the order they were saved."""
    entries = board.entries.exclude(concept__file="").select_related(
        "concept__source_image__product"
    )
    return [entry.concept for entry in entries]
