from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import Merchant
from catalog.services import merchant_create, product_create_with_image
from retrieval.encoders import get_encoder
from retrieval.indexing import embed_pending_images
from tests.conftest import dataset_photos
from tests.factories import merchant_user


@pytest.fixture
def studio_catalog(photo_folder):
    """20 real photos of the demo shop and 4 of a rival shop, imported and indexed."""
    call_command("import_catalog", str(photo_folder(20)), stdout=None)
    rival = merchant_create(name="Rival Wear", slug="rival")
    for photo in dataset_photos(4, split="validation"):
        product_create_with_image(
            merchant=rival,
            data=photo.read_bytes(),
            title=f"Rival {photo.parent.name} {photo.stem[:6]}",
            price=Decimal("19.90"),
            stock_quantity=3,
        )
    embed_pending_images(encoder=get_encoder())
    return Merchant.objects.get(slug="demo"), rival


@pytest.fixture
def demo_merchant(studio_catalog):
    return studio_catalog[0]


@pytest.fixture
def rival(studio_catalog):
    return studio_catalog[1]


@pytest.fixture
def studio_client(client, demo_merchant):
    """Signed in as a user of the demo shop."""
    client.force_login(merchant_user(demo_merchant))
    return client
