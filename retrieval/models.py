"""Embeddings in pgvector, keyed by (row, encoder identity) so two models never mix.

The column holds `halfvec` of any dimension; each encoder gets its own partial HNSW index on
`vector::halfvec(dim)` (see vector_index.py), which fixes the dimension per model and lets a new
encoder be indexed beside the old one. halfvec: half the size of `vector`, fits in the row (no
TOAST), and cost at most 0.005 recall@10 here (../shared/MODELS.md).
"""

from django.db import models
from pgvector.django import HalfVectorField

from catalog.models import Product, ProductImage


class ImageEmbedding(models.Model):
    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="embeddings")
    encoder = models.CharField(max_length=200)
    vector = HalfVectorField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["image", "encoder"], name="one_vector_per_image_encoder"
            )
        ]

    def __str__(self) -> str:
        return f"image {self.image_id} by {self.encoder}"


class ProductEmbedding(models.Model):
    """The normalised mean of a product's image vectors."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="embeddings")
    encoder = models.CharField(max_length=200)
    vector = HalfVectorField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "encoder"], name="one_vector_per_product_encoder"
            )
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} by {self.encoder}"
