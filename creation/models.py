"""Create jobs: one merchant's request for concept images, run on the Postgres queue."""

from django.conf import settings
from django.db import models

from catalog.models import GeneratedImage, Merchant, ProductImage


class CreateJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="create_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True)
    seed = models.BigIntegerField()
    steps = models.PositiveSmallIntegerField()
    guidance_scale = models.FloatField()
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    num_images = models.PositiveSmallIntegerField(default=1)
    # Image-to-image: the real product image it starts from, and how close to stay to it.
    source_image = models.ForeignKey(
        ProductImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fidelity = models.FloatField(null=True, blank=True)
    strength = models.FloatField(null=True, blank=True)
    model_identity = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    images = models.ManyToManyField(GeneratedImage, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Create job #{self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return self.steps_done / self.steps_total if self.steps_total else 0.0


class Board(models.Model):
    """A merchant's named collection of concepts kept as design briefs (private to the merchant)."""

    NAME_MAX = 120

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="boards")
    name = models.CharField(max_length=NAME_MAX)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    concepts = models.ManyToManyField(GeneratedImage, through="BoardConcept", related_name="+")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="board_name_unique_per_shop")
        ]

    def __str__(self) -> str:
        return self.name


class BoardConcept(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="entries")
    concept = models.ForeignKey(GeneratedImage, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "concept"], name="board_concept_once")
        ]

    def __str__(self) -> str:
        return f"Concept #{self.concept_id} on board #{self.board_id}"
