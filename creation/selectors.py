"""Reads for create mode, always scoped to one merchant (another merchant's rows are 404)."""

from django.shortcuts import get_object_or_404

from catalog.models import GeneratedImage, Merchant
from creation.models import CreateJob


def create_job_get(*, merchant: Merchant, pk: int) -> CreateJob:
    return get_object_or_404(CreateJob.objects.prefetch_related("images"), pk=pk, merchant=merchant)


def create_jobs_of(*, merchant: Merchant):
    return CreateJob.objects.filter(merchant=merchant).prefetch_related("images")[:50]


def generated_image_get(*, merchant: Merchant, pk: int) -> GeneratedImage:
    return get_object_or_404(GeneratedImage, pk=pk, merchant=merchant)
