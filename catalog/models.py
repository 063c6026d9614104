"""The shop's truth: merchants, categories, products and their images."""

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from pgvector.django import BitField, HnswIndex, IvfflatIndex


class OutOfStockResults(models.TextChoices):
    """Where a merchant's out-of-stock products go in search results."""

    HIDE = "hide", "Hide them"
    LAST = "last", "Show them after the products in stock"
    UNCHANGED = "unchanged", "Rank them like any other product"


class Merchant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    # An onboarding shop is not published yet: none of its products is shown to shoppers.
    is_published = models.BooleanField(default=True)
    # A user belongs to at most one merchant (OneToOne on the user side).
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, through="MerchantMembership")
    out_of_stock_results = models.CharField(
        max_length=10,
        choices=OutOfStockResults.choices,
        default=OutOfStockResults.LAST,
        db_default=OutOfStockResults.LAST,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(out_of_stock_results__in=OutOfStockResults.values),
                name="merchant_out_of_stock_results_known",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MerchantMembership(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="merchant_membership"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant}"


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Merchant | None) -> "ProductQuerySet":
        return self.filter(merchant=merchant) if merchant else self.none()


class Availability(models.TextChoices):
    """Google Merchant Center's availability values."""

    IN_STOCK = "in_stock", "In stock"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"
    PREORDER = "preorder", "Preorder"
    BACKORDER = "backorder", "Backorder"


class Condition(models.TextChoices):
    NEW = "new", "New"
    REFURBISHED = "refurbished", "Refurbished"
    USED = "used", "Used"


# The constraint an upsert racing another one for a new SKU runs into (services/products.py).
PRODUCT_SKU_UNIQUE = "product_sku_unique_per_merchant"


class Product(models.Model):
    """A product as the shop sends it (Google Merchant Center's attributes).

    The attributes are typed columns, not an attribute table: the set is fixed by the feed
    format, search filters and facets on brand, colour and size need plain indexes, and the
    database can hold each one to its rule (a GTIN is 8-14 digits, a sale price is below the
    price). Variants of one item (its colours and sizes) share an `item_group_id`.
    """

    Availability = Availability
    Condition = Condition

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    # The merchant's own id for the product (a feed's `id`): what imports and the API upsert by.
    sku = models.CharField("SKU", max_length=64, blank=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    # The merchant's own category path ("Apparel > Dresses"); its last step is the category.
    product_type = models.CharField(max_length=750, blank=True, default="", db_default="")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    sale_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    # What shoppers see and filter on; the count, when the shop sends one, sets it (0 = out).
    availability = models.CharField(
        max_length=20,
        choices=Availability.choices,
        default=Availability.IN_STOCK,
        db_default=Availability.IN_STOCK,
    )
    stock_quantity = models.PositiveIntegerField(default=0)
    brand = models.CharField(max_length=150, blank=True, default="", db_default="")
    color = models.CharField("colour", max_length=100, blank=True, default="", db_default="")
    size = models.CharField(max_length=100, blank=True, default="", db_default="")
    material = models.CharField(max_length=200, blank=True, default="", db_default="")
    gtin = models.CharField("GTIN", max_length=14, blank=True, default="", db_default="")
    condition = models.CharField(
        max_length=20, choices=Condition.choices, default=Condition.NEW, db_default=Condition.NEW
    )
    item_group_id = models.CharField(
        "item group", max_length=64, blank=True, default="", db_default=""
    )
    link = models.URLField(max_length=2000, blank=True, default="", db_default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Full-text document for the keyword half of search: title, SKU and brand weigh more.
    search_document = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("sku", weight="A", config="simple")
        + SearchVector("brand", weight="A", config="simple")
        + SearchVector("color", "material", "product_type", weight="B", config="english")
        + SearchVector("description", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            GinIndex(fields=["search_document"], name="product_search_document"),
            models.Index(fields=["price"], name="product_price"),
            models.Index(Upper("sku"), name="product_sku_upper"),
            # A shopper's facet values are checked against these (an unknown one is a 400).
            models.Index(fields=["brand"], name="product_brand"),
            models.Index(fields=["color"], name="product_color"),
            models.Index(fields=["size"], name="product_size"),
            models.Index(
                fields=["merchant", "item_group_id"],
                condition=~Q(item_group_id=""),
                name="product_item_group",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(
                condition=Q(sale_price__isnull=True)
                | Q(sale_price__gte=0, sale_price__lte=models.F("price")),
                name="product_sale_price_within_price",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=Q(gtin="") | Q(gtin__regex=r"^[0-9]{8,14}$"),
                name="product_gtin_digits",
            ),
            models.CheckConstraint(
                condition=Q(availability__in=Availability.values),
                name="product_availability_known",
            ),
            models.CheckConstraint(
                condition=Q(condition__in=Condition.values),
                name="product_condition_known",
            ),
            models.UniqueConstraint(
                fields=["merchant", "slug"], name="product_slug_unique_per_merchant"
            ),
            models.UniqueConstraint(
                fields=["merchant", "sku"],
                condition=~Q(sku=""),
                name=PRODUCT_SKU_UNIQUE,
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def in_stock(self) -> bool:
        return self.availability == self.Availability.IN_STOCK

    @property
    def on_sale(self) -> bool:
        return self.sale_price is not None and self.sale_price < self.price


def _hamming_index(name: str, field: str, **graph) -> HnswIndex:
    # Perceptual hashes are compared by Hamming distance; HNSW keeps that fast at millions of rows.
    # `graph`: m and ef_construction where pgvector's defaults (16, 64) are not the right ones.
    return HnswIndex(name=name, fields=[field], opclasses=["bit_hamming_ops"], **graph)


def product_image_path(instance: "ProductImage", filename: str) -> str:
    # Content-addressed: the same bytes always land on the same name, on any storage backend.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"products/{instance.sha256[:2]}/{instance.sha256}.{ext}"


class ProductImage(models.Model):
    class GuardStatus(models.TextChoices):
        PASSED = "passed", "Passed"
        QUARANTINED = "quarantined", "Quarantined"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    # width/height come from catalog.images.inspect_image, so saving never re-reads the file.
    file = models.ImageField(upload_to=product_image_path)
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)
    # Where a feed or the API took it from (a URL, or a path relative to the feed): a re-import
    # that names the same sources fetches nothing.
    source = models.CharField(max_length=2000, blank=True, default="", db_default="")
    # Only images that passed the provenance guard are ever shown or searched.
    guard_status = models.CharField(
        max_length=20, choices=GuardStatus.choices, default=GuardStatus.PASSED, db_index=True
    )
    guard_reason = models.TextField(blank=True)
    # The registry entry a quarantine matched, shown to staff who review it.
    guard_match = models.ForeignKey(
        "GeneratedImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # PDQ of the image as it is, so a newly registered generated image can be checked against the
    # catalog (in its 8 rotations and mirrors; padded copies are found by local features).
    pdq = BitField(length=256, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            _hamming_index("image_pdq_hnsw", "pdq"),
            # The strict-fidelity rule asks "has this product a passed image?" per candidate:
            # an index-only probe, instead of hashing every image (29 -> 10 ms at 100k products).
            models.Index(
                fields=["product"],
                condition=Q(guard_status="passed"),
                name="image_passed_by_product",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="image_sha256_hex"
            ),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="image_has_size"),
        ]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"


def private_storage():
    from django.core.files.storage import storages

    return storages["private"]


def generated_image_path(instance: "GeneratedImage", filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"generated/{instance.merchant_id}/{instance.sha256}.{ext}"


class GeneratedImage(models.Model):
    """The provenance registry: one row per image a generator made, committed before its bytes
    are stored or served. The guard refuses anything that matches a row here."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="generated")
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True)
    seed = models.BigIntegerField()
    model_identity = models.CharField(max_length=300)
    source_image = models.ForeignKey(
        ProductImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fidelity = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sha256 = models.CharField(max_length=64)  # indexed for equality only (Meta)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # PDQ upright, as it is and without its borders: a check looks up its 8 rotations and mirrors.
    pdq = BitField(length=256)
    # None when the image has no plain border to trim (~99% of the shared photos), so
    # the index of trimmed hashes holds only images with borders, and a check's lookups there
    # cost next to nothing (HNSW leaves NULLs out).
    pdq_trimmed = BitField(length=256, null=True, blank=True)
    # Compressed local features and thumbnails (catalog.fingerprints) for geometric verification.
    features = models.BinaryField()
    # Empty until the row is committed: registration comes before release.
    file = models.FileField(upload_to=generated_image_path, storage=private_storage, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            _hamming_index("generated_pdq_hnsw", "pdq"),
            _hamming_index("generated_pdq_trimmed_hnsw", "pdq_trimmed"),
            # The exact-bytes lookup of every check; db_index=True would add a second index for
            # LIKE that nothing asks for (0.14 MB per 1,000 entries).
            models.Index(fields=["sha256"], name="generated_sha256"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fidelity__isnull=True) | Q(fidelity__gte=0, fidelity__lte=1),
                name="generated_fidelity_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Generated #{self.pk} ({self.merchant})"


class RegistryKeypoint(models.Model):
    """A strong local descriptor of a registered image, upright: finds cropped, framed and
    covered copies via HNSW (a query brings its mirrored descriptors itself)."""

    # An entry's keypoints are written together, after every earlier entry's, so the rows lie
    # in entry order: a block-range index finds them (re-fingerprinting, a cascade) for a few
    # kB in all, where a b-tree took 0.42 MB per 1,000 entries.
    entry = models.ForeignKey(
        GeneratedImage, on_delete=models.CASCADE, related_name="keypoints", db_index=False
    )
    descriptor = BitField(length=256)
    # Where it sits (whole normalised pixels, <= 512: the placement check allows 8 px, and two
    # bytes each instead of eight keep the row at 88 bytes): the votes a candidate gets must
    # agree on one placement of the query in it, or of it in the query, before it is verified.
    x = models.SmallIntegerField(default=0)
    y = models.SmallIntegerField(default=0)

    class Meta:
        # Most of the registry's memory: 334 bytes a row at m 16, 235 at m 8, 210 at m 6. Built
        # wide (ef_construction 128) and searched wider, the sparse graph finds as many true
        # correspondences as the denser ones did, no slower (guard/thresholds.py,
        # KEYPOINT_EF_SEARCH).
        indexes = [
            _hamming_index("keypoint_descriptor_hnsw", "descriptor", m=6, ef_construction=128),
            BrinIndex(fields=["entry"], name="keypoint_entry_brin", pages_per_range=8),
        ]

    def __str__(self) -> str:
        return f"Keypoint of {self.entry_id}"


class ProductImageKeypoint(models.Model):
    """A strong local descriptor of a catalog image: lets a newly registered generated image
    find catalog photos that are crops of it (the re-check job)."""

    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="keypoints")
    descriptor = BitField(length=256)

    class Meta:
        # Inverted lists, not a graph: every catalog image writes 96 rows, and an HNSW insert
        # walks the graph (m 8 / ef_construction 24: 29 ms an image at 1,000 images, 47 at
        # 10,000, still growing), where an IVFFlat insert compares with the list centres and
        # appends (4.4 ms an image at 10,000, 1.5 untrained). The re-check, its only reader,
        # runs once per registered image and scans a few lists instead (0.4 s at 13,600
        # images, 5 lists of 1,000): the same candidates as the graph's 5-NN search within
        # 48 bits, edit by edit (120 photos, 29 edits, 10,000 distractor images). The lists
        # are trained on the rows at hand when the index is built, so the re-check retrains
        # them as the catalog grows (guard/keypoint_index.py).
        indexes = [
            IvfflatIndex(
                name="image_keypoint_descriptor_ivf",
                fields=["descriptor"],
                lists=1000,
                opclasses=["bit_hamming_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"Keypoint of image {self.image_id}"


class GuardRelease(models.Model):
    """Audit record: a member of staff released a quarantined image as a false positive."""

    image = models.ForeignKey(ProductImage, on_delete=models.CASCADE, related_name="releases")
    entry = models.ForeignKey(
        GeneratedImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    quarantine_reason = models.TextField()
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Release of {self.image_id} by {self.released_by}"


def feed_upload_path(instance: "FeedImport", filename: str) -> str:
    return f"feeds/{instance.merchant_id}/{filename}"


class FeedImport(models.Model):
    """A feed a merchant uploaded in the admin, imported by a job on the queue."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="feed_imports")
    file = models.FileField(upload_to=feed_upload_path, storage=private_storage)
    delete_missing = models.BooleanField(
        default=False, help_text="Delete your products that the feed no longer lists."
    )
    dry_run = models.BooleanField(default=False, help_text="Say what would change; write nothing.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)  # the share of the file read, 0 to 1
    rows = models.PositiveIntegerField(default=0)
    # FeedReport.as_dict(): counts, the summary and every row error.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)  # why the whole file was refused
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=1), name="feed_import_progress_share"
            ),
        ]

    def __str__(self) -> str:
        return f"Feed import #{self.pk} ({self.merchant})"
