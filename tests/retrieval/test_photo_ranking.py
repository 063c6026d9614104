"""Photo search ranks products by their best image, however many images each product has."""

from decimal import Decimal

import numpy as np
import pytest
from django.db import connection

from catalog.models import Category, Merchant, Product, ProductImage
from retrieval.encoders import get_encoder
from retrieval.filters import SearchFilters
from retrieval.models import ImageEmbedding
from retrieval.vector import image_vector_ranking
from retrieval.vector_index import ensure_vector_indexes

pytestmark = pytest.mark.django_db

PRODUCTS = 60
IMAGES_EACH = 4


def _unit(rows):
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


@pytest.fixture
def photographed_catalog():
    """60 products with 4 images each; a product's images lie close together."""
    encoder = get_encoder()
    shop = Merchant.objects.create(name="Shots", slug="shots")
    category = Category.objects.create(name="Coats", slug="coats")
    products = Product.objects.bulk_create(
        Product(
            merchant=shop,
            title=f"Coat {i}",
            slug=f"coat-{i}",
            category=category,
            price=Decimal(40),
            stock_quantity=1,
        )
        for i in range(PRODUCTS)
    )
    images = ProductImage.objects.bulk_create(
        ProductImage(
            product=product,
            file=f"products/{product.pk}-{view}.jpg",
            sha256=f"{product.pk:032x}{view:032x}",
            width=1,
            height=1,
            position=view,
        )
        for product in products
        for view in range(IMAGES_EACH)
    )
    rng = np.random.default_rng(3)
    centres = _unit(rng.normal(size=(PRODUCTS, encoder.dim)))
    vectors = _unit(
        np.repeat(centres, IMAGES_EACH, 0)
        + 0.3 * rng.normal(size=(len(images), encoder.dim)) / np.sqrt(encoder.dim)
    )
    ensure_vector_indexes(encoder_identity=encoder.identity, dim=encoder.dim)
    ImageEmbedding.objects.bulk_create(
        ImageEmbedding(image=image, encoder=encoder.identity, vector=vector)
        for image, vector in zip(images, vectors, strict=True)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE retrieval_imageembedding")
    owners = np.array([image.product_id for image in images])
    return encoder, vectors, owners


def test_each_product_once_at_its_best_image_and_as_many_as_asked(photographed_catalog):
    encoder, vectors, owners = photographed_catalog
    query = vectors[5]

    found = image_vector_ranking(query, encoder=encoder, filters=SearchFilters(), limit=20)

    # Exact answer: each product's nearest image, the 20 nearest products.
    distances = 1.0 - vectors @ query
    best = {}
    for owner, distance in sorted(zip(owners, distances, strict=True), key=lambda x: x[1]):
        best.setdefault(int(owner), float(distance))
    expected = list(best.items())[:20]
    assert len(found) == 20  # not the 14 products that the 40 nearest images show
    assert [pid for pid, _ in found] == [pid for pid, _ in expected]
    assert [d for _, d in found] == pytest.approx([d for _, d in expected], abs=2e-3)
