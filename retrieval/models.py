"""Embeddings in pgvector, keyed by (row, encoder identity) so two models never mix.

The column holds `halfvec` of any dimension; each encoder gets its own partial HNSW index on
`vector::halfvec(dim)` (see vector_index.py), which fixes the dimension per model and lets a new
encoder be indexed beside the old one. halfvec: half the size of `vector`, fits in the row (no
TOAST), and cost at most 0.005 recall@10 here (../shared/MODELS.md).
"""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from pgvector.django import HalfVectorField

from catalog.models import Merchant, Product, ProductImage


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


class PendingImage(models.Model):
    """An image no indexing job has embedded yet: the backlog a worker claims its batches from,
    in time that does not grow with the catalog (retrieval/indexing.py).

    The database adds every new catalog image here (a trigger, whatever writes the image) and
    drops the row with its image (ON DELETE CASCADE; both in migration 0007). Kept apart from
    the image row: clearing a flag there rewrote the row outside HOT (a partial index reads
    it), inserting every image into its PDQ graph a second time.
    """

    image = models.OneToOneField(
        ProductImage,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the database cascades
        db_constraint=False,  # created with ON DELETE CASCADE by the migration
        related_name="+",
    )
    # An image whose file could not be read (missing, corrupt, its storage down) is tried
    # again later, each time twice as late (retrieval/indexing.py): restored, it is still
    # embedded; broken, it no longer costs the periodic sweep a job every tick. Defaults in
    # the database: the trigger that adds the row names only the image.
    failed_reads = models.PositiveIntegerField(db_default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"image {self.image_id} to embed"


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


class Synonym(models.Model):
    """A merchant's synonym set, applied to the keyword half for that merchant's products.

    one-way: a search for any of `terms` also finds `synonyms` ("jeans" -> "trousers");
    equivalent: each of `terms` finds the others ("sneakers" = "trainers").
    Terms are lowercase words or phrases of up to three words (retrieval/synonyms.py).
    """

    class Kind(models.TextChoices):
        ONE_WAY = "one_way", "One-way (terms also find the synonyms)"
        EQUIVALENT = "equivalent", "Multi-way (each term finds the others)"

    merchant = models.ForeignKey(
        "catalog.Merchant", on_delete=models.CASCADE, related_name="synonyms"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ONE_WAY)
    terms = ArrayField(models.CharField(max_length=60))
    synonyms = ArrayField(models.CharField(max_length=60), blank=True, default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant", "id"]
        indexes = [GinIndex(fields=["terms"], name="synonym_terms")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="one_way", synonyms__len__gte=1)
                | Q(kind="equivalent", terms__len__gte=2, synonyms__len=0),
                name="synonym_kind_has_its_terms",
            ),
            models.CheckConstraint(
                condition=Q(terms__len__lte=50, synonyms__len__lte=50),
                name="synonym_set_at_most_50_terms",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.EQUIVALENT:
            return " = ".join(self.terms)
        return f"{', '.join(self.terms)} → {', '.join(self.synonyms)}"


class MerchandisingRule(models.Model):
    """A merchant's rule for some queries: pin or hide one of its products, or boost or bury
    its products that carry an attribute. Applied after strict fidelity (retrieval/rules.py)."""

    class Match(models.TextChoices):
        EXACT = "exact", "The query is exactly"
        CONTAINS = "contains", "The query contains every word of"

    class Action(models.TextChoices):
        PIN = "pin", "Pin a product at a position"
        HIDE = "hide", "Hide a product"
        BOOST = "boost", "Boost products with an attribute"
        BURY = "bury", "Bury products with an attribute"

    class Attribute(models.TextChoices):
        CATEGORY = "category", "Category (slug)"
        BRAND = "brand", "Brand"
        IN_STOCK = "in_stock", "In stock"

    merchant = models.ForeignKey(
        "catalog.Merchant", on_delete=models.CASCADE, related_name="merchandising_rules"
    )
    name = models.CharField(max_length=100, help_text="Named in the search API's signals.")
    match = models.CharField(max_length=10, choices=Match.choices, default=Match.EXACT)
    query = models.CharField(max_length=200, help_text="Lowercase words, single-spaced.")
    words = ArrayField(models.CharField(max_length=200), editable=False, default=list)
    action = models.CharField(max_length=10, choices=Action.choices)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    position = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Pins only: 1 is the first result."
    )
    attribute = models.CharField(max_length=10, choices=Attribute.choices, blank=True)
    value = models.CharField(max_length=150, blank=True, help_text="A category slug or brand.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant", "id"]
        indexes = [
            models.Index(fields=["query"], name="rule_query"),
            GinIndex(fields=["words"], name="rule_words"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["pin", "hide"], product__isnull=False)
                | Q(action__in=["boost", "bury"], product__isnull=True),
                name="rule_product_for_pin_and_hide_only",
            ),
            models.CheckConstraint(
                condition=~Q(action="pin") | Q(position__gte=1, position__lte=48),
                name="rule_pin_position_1_to_48",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="rule_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SearchSettings(Merchant):
    """A shop's search settings: its own admin page, which changes nothing else of the shop."""

    class Meta:
        proxy = True
        verbose_name = "search settings"
        verbose_name_plural = "search settings"
