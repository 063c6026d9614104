"""Merchant create API, /api/v1/create/: submit, follow and cancel create jobs."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from catalog.models import ProductImage
from catalog.permissions import MerchantApiView
from config.api_errors import StrictSerializer
from config.throttles import CreateThrottle
from creation import generators, selectors, services
from creation.bounds import FIDELITY, GUIDANCE_SCALE, MAX_PROMPT, MIN_SIDE, NUM_IMAGES, SEED, STEPS
from creation.permissions import IsCreateMerchant
from creation.serving import generated_image_response


def side_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=MIN_SIDE, required=False, help_text="A multiple of 8, up to the model's size."
    )


class CreateInput(StrictSerializer):
    prompt = serializers.CharField(max_length=MAX_PROMPT, trim_whitespace=True)
    negative_prompt = serializers.CharField(
        max_length=MAX_PROMPT, required=False, allow_blank=True, default=""
    )
    seed = SEED.api_field(required=False)
    steps = STEPS.api_field(default=20)
    guidance_scale = GUIDANCE_SCALE.api_field(default=7.5)
    width = side_field()
    height = side_field()
    num_images = NUM_IMAGES.api_field(default=1)
    source_image = serializers.IntegerField(
        required=False, help_text="Image-to-image: the id of one of your product images."
    )
    fidelity = FIDELITY.api_field(
        required=False,
        help_text="Image-to-image: 1 keeps the product, 0 ignores it (strength = 1 - fidelity).",
    )

    def validate(self, data):
        data = super().validate(data)
        max_size = generators.generator_sizes().max_size
        for side in ("width", "height"):
            value = data.get(side)
            if value is not None and (value % 8 or value > max_size):
                raise serializers.ValidationError(
                    {side: f"Must be a multiple of 8 between {MIN_SIDE} and {max_size}."},
                    code="bad_size",
                )
        if ("fidelity" in data) != ("source_image" in data):
            raise serializers.ValidationError(
                "Image-to-image needs both source_image and fidelity.", code="fidelity_needs_source"
            )
        return data


class GeneratedImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    seed = serializers.IntegerField()
    model_identity = serializers.CharField()
    fidelity = serializers.FloatField(allow_null=True)
    source_image = serializers.IntegerField(source="source_image_id", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_url(self, image) -> str:
        return reverse("api-create-image", args=[image.pk])


class JobProgressOutput(serializers.Serializer):
    """What every view of a create job shows: where it is and what it makes."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    progress = serializers.FloatField(help_text="0..1, per denoising step")
    steps_done = serializers.IntegerField()
    steps_total = serializers.IntegerField()
    error = serializers.CharField()
    prompt = serializers.CharField()
    kind = serializers.SerializerMethodField()
    fidelity = serializers.FloatField(allow_null=True)

    def get_kind(self, job) -> str:
        return "image_to_image" if job.source_image_id else "text_to_image"


class CreateJobOutput(JobProgressOutput):
    seed = serializers.IntegerField()
    strength = serializers.FloatField(allow_null=True)
    images = GeneratedImageOutput(many=True)
    url = serializers.SerializerMethodField()

    def get_url(self, job) -> str:
        return reverse("api-create-job", args=[job.pk])


class MerchantApi(MerchantApiView):
    permission_classes = [IsCreateMerchant]


class CreateJobListApi(MerchantApi):
    def get_throttles(self):
        # Submitting jobs is limited per merchant; listing them is not.
        return [CreateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        request=CreateInput,
        responses={202: CreateJobOutput},
        examples=[
            OpenApiExample("Text to image", {"prompt": "a linen summer dress", "seed": 7}),
            OpenApiExample(
                "Variation of a product", {"prompt": "in red", "source_image": 12, "fidelity": 0.7}
            ),
        ],
        summary="Start a create job (returns at once; follow its url for progress)",
    )
    def post(self, request):
        params = CreateInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if "source_image" in data:
            image = ProductImage.objects.filter(
                pk=data["source_image"], product__merchant=self.merchant
            ).first()
            if image is None:
                raise exceptions.ValidationError(
                    {"source_image": "Pick one of your own product images."}, code="not_found"
                )
            data["source_image"] = image
            if data["fidelity"] >= 1:
                return Response(
                    {
                        "created": False,
                        "message": "Fidelity 1 returns the real product itself, unchanged: "
                        "nothing was generated.",
                        "source_image": {"id": image.pk, "url": image.file.url},
                        "product": image.product_id,
                    }
                )
        job = services.create_job_submit(
            merchant=self.merchant, user=request.user, request=services.CreateRequest(**data)
        )
        return Response(CreateJobOutput(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=CreateJobOutput(many=True), summary="Your recent create jobs")
    def get(self, request):
        return Response(
            CreateJobOutput(selectors.create_jobs_of(merchant=self.merchant), many=True).data
        )


class CreateJobDetailApi(MerchantApi):
    @extend_schema(responses=CreateJobOutput, summary="Status, progress and result URLs of a job")
    def get(self, request, pk: int):
        return Response(
            CreateJobOutput(selectors.create_job_get(merchant=self.merchant, pk=pk)).data
        )


class CreateJobCancelApi(MerchantApi):
    @extend_schema(
        request=None, responses=CreateJobOutput, summary="Cancel a queued or running job"
    )
    def post(self, request, pk: int):
        job = selectors.create_job_get(merchant=self.merchant, pk=pk)
        return Response(CreateJobOutput(services.create_job_cancel(job=job)).data)


class GeneratedImageFileApi(MerchantApi):
    """The PNG of one of your generated images (with its XMP and C2PA manifest intact)."""

    @extend_schema(responses={(200, "image/png"): bytes}, summary="A generated image's file")
    def get(self, request, pk: int):
        return generated_image_response(selectors.concept_get(merchant=self.merchant, pk=pk))
