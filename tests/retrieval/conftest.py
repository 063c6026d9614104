import pytest
from django.core.management import call_command

from catalog.models import Product


@pytest.fixture
def indexed_catalog(photo_folder, run_jobs):
    """50 real photos imported (5 per category) and indexed by the worker."""
    call_command("import_catalog", str(photo_folder(50)), stdout=None)
    run_jobs()
    return Product.objects.all()
