"""Merchant studio API, /api/v1/studio/: the fidelity slider, concepts, and boards."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django.utils.text import slugify
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from catalog.images import read_upload
from catalog.permissions import MerchantApiView
from config.api_errors import ERROR_BODY, StrictSerializer
from config.throttles import CreateThrottle
from creation import boards, selectors, studio
from creation.apis import JobProgressOutput
from creation.bounds import FIDELITY, MAX_QUERY, NUM_IMAGES, SEED, STEPS
from creation.models import Board
from creation.permissions import IsCreateMerchant
from retrieval.apis import FILTER_PARAMETERS, ProductOutput
from retrieval.params import FilterParams, parse

GENERATED_LABEL = "Generated concept, not a product"
REAL_LABEL = "Real product"


class StudioApi(MerchantApiView):
    permission_classes = [IsCreateMerchant]


# Tiles: every result says what it is. A concept carries its provenance and no product link.


class RealTileOutput(serializers.Serializer):
    kind = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()
    score = serializers.FloatField()
    signals = serializers.ListField(child=serializers.CharField())
    product = ProductOutput()

    def get_kind(self, hit) -> str:
        return "real_product"

    def get_label(self, hit) -> str:
        return REAL_LABEL


class ConceptTileOutput(serializers.Serializer):
    kind = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()
    id = serializers.IntegerField()
    image_url = serializers.SerializerMethodField()
    find_real_url = serializers.SerializerMethodField(
        help_text="Photo search over the real catalog with this concept."
    )
    provenance = serializers.SerializerMethodField()

    def get_kind(self, concept) -> str:
        return "generated_concept"

    def get_label(self, concept) -> str:
        return GENERATED_LABEL

    def get_image_url(self, concept) -> str:
        return reverse("api-create-image", args=[concept.pk])

    def get_find_real_url(self, concept) -> str:
        return reverse("api-studio-concept-similar", args=[concept.pk])

    def get_provenance(self, concept) -> dict:
        return boards.concept_provenance(concept)


class StudioJobOutput(JobProgressOutput):
    stop = serializers.SerializerMethodField(help_text="The slider stop nearest the fidelity.")
    concepts = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_stop(self, job) -> str | None:
        # A job started from the create form without a source has no fidelity.
        return None if job.fidelity is None else studio.stop_label(job.fidelity)

    def get_concepts(self, job) -> list[dict]:
        return ConceptTileOutput(selectors.job_concepts(job=job), many=True).data

    def get_url(self, job) -> str:
        return reverse("api-studio-job", args=[job.pk])


class StudioInput(StrictSerializer):
    q = serializers.CharField(max_length=MAX_QUERY, required=False, allow_blank=True, default="")
    image = serializers.FileField(required=False, help_text="A photo (multipart), instead of q.")
    product = serializers.IntegerField(required=False, help_text="A product id, instead of q.")
    fidelity = FIDELITY.api_field(
        default=1.0,
        help_text='1 "in catalog", 0.7 "close variation", 0.3 "loose concept", 0 "from scratch".',
    )
    seed = SEED.api_field(required=False)
    num_images = NUM_IMAGES.api_field(default=2)
    steps = STEPS.api_field(default=studio.STEPS_DEFAULT)


class StudioOutput(serializers.Serializer):
    query = serializers.SerializerMethodField()
    fidelity = serializers.FloatField(source="query.fidelity")
    stop = serializers.CharField()
    real = RealTileOutput(many=True, source="real.hits")
    real_total = serializers.IntegerField(source="real.total")
    query_product = serializers.SerializerMethodField()
    source_product = serializers.SerializerMethodField(
        help_text="The real product the variations start from (image-to-image)."
    )
    job = StudioJobOutput(allow_null=True)

    def get_query(self, result) -> dict:
        query = result.query
        return {"kind": query.kind, "text": query.text, "product": query.product_id}

    def get_query_product(self, result) -> dict | None:
        return ProductOutput(result.query_product).data if result.query_product else None

    def get_source_product(self, result) -> dict | None:
        image = result.source_image
        if image is None:
            return None
        return {"id": image.product_id, "title": image.product.title, "image": image.pk}


class StudioSearchApi(StudioApi):
    throttle_classes = [CreateThrottle]

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={"application/json": StudioInput, "multipart/form-data": StudioInput},
        responses={
            200: OpenApiResponse(StudioOutput, description="fidelity 1: real products only"),
            202: OpenApiResponse(
                StudioOutput, description="below 1: real products and a queued create job"
            ),
            404: OpenApiResponse(ERROR_BODY, description="`product` names no product"),
        },
        examples=[
            OpenApiExample("In catalog", {"q": "linen summer dress", "fidelity": 1}),
            OpenApiExample("Close variation", {"q": "linen summer dress", "fidelity": 0.7}),
            OpenApiExample("From a product", {"product": 12, "fidelity": 0.3, "seed": 7}),
            OpenApiExample("From scratch", {"q": "linen summer dress", "fidelity": 0}),
        ],
        summary="One query, one fidelity: real products, then concepts below fidelity 1",
        description="Exactly one of q, image (multipart) or product. At fidelity 1 the real "
        "products are exactly what shopper search returns; between 0 and 1 a create job makes "
        "image-to-image variations of your best-matching own product (strength = 1 - fidelity); "
        "at 0 it creates from the words alone. Follow `job.url` for progress and concepts.",
    )
    def post(self, request):
        params = StudioInput(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        photo = read_upload(data["image"]) if "image" in data else None
        query = studio.StudioQuery(
            fidelity=data["fidelity"],
            text=data["q"],
            photo=photo,
            product_id=data.get("product"),
            seed=data.get("seed"),
            num_images=data["num_images"],
            steps=data["steps"],
        )
        result = studio.studio_search(merchant=self.merchant, user=request.user, query=query)
        code = status.HTTP_202_ACCEPTED if result.job else status.HTTP_200_OK
        return Response(StudioOutput(result).data, status=code)


class StudioJobApi(StudioApi):
    @extend_schema(responses=StudioJobOutput, summary="A studio job's progress and its concepts")
    def get(self, request, pk: int):
        job = selectors.create_job_get(merchant=self.merchant, pk=pk)
        return Response(StudioJobOutput(job).data)


class ConceptListApi(StudioApi):
    @extend_schema(responses=ConceptTileOutput(many=True), summary="Your newest 100 concepts")
    def get(self, request):
        concepts = selectors.concepts_of(merchant=self.merchant)[:100]
        return Response(ConceptTileOutput(concepts, many=True).data)


class ConceptDetailApi(StudioApi):
    @extend_schema(responses=ConceptTileOutput, summary="One concept and its provenance")
    def get(self, request, pk: int):
        return Response(
            ConceptTileOutput(selectors.concept_get(merchant=self.merchant, pk=pk)).data
        )


class ConceptSimilarApi(StudioApi):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses=inline_serializer(
            "ConceptSimilarPage",
            {
                "concept": ConceptTileOutput(),
                "real": RealTileOutput(many=True),
                "total": serializers.IntegerField(),
                "page": serializers.IntegerField(),
                "has_more": serializers.BooleanField(),
            },
        ),
        summary="Find real products like this concept (photo search over the real catalog)",
    )
    def get(self, request, pk: int):
        concept = selectors.concept_get(merchant=self.merchant, pk=pk)
        params = parse(FilterParams, request.query_params)
        data = params.validated_data
        page = studio.products_like_concept(
            concept=concept,
            filters=params.filters(),
            page=data["page"],
            page_size=data["page_size"],
        )
        return Response(
            {
                "concept": ConceptTileOutput(concept).data,
                "real": RealTileOutput(page.hits, many=True).data,
                "total": page.total,
                "page": page.page,
                "has_more": page.has_more,
            }
        )


# Boards


class BoardInput(serializers.Serializer):
    name = serializers.CharField(max_length=2000, help_text=f"At most {Board.NAME_MAX} characters.")


class BoardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    concept_count = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    export_url = serializers.SerializerMethodField()

    def get_url(self, board) -> str:
        return reverse("api-studio-board", args=[board.pk])

    def get_export_url(self, board) -> str:
        return reverse("api-studio-board-export", args=[board.pk])


class BoardDetailOutput(BoardOutput):
    concepts = serializers.SerializerMethodField()

    def get_concepts(self, board) -> list[dict]:
        return ConceptTileOutput(selectors.board_concepts(board=board), many=True).data


class BoardConceptInput(serializers.Serializer):
    concept = serializers.IntegerField(help_text="The id of one of your concepts.")


class BoardListApi(StudioApi):
    @extend_schema(responses=BoardOutput(many=True), summary="Your boards")
    def get(self, request):
        return Response(BoardOutput(selectors.boards_of(merchant=self.merchant), many=True).data)

    @extend_schema(
        request=BoardInput,
        responses={201: BoardDetailOutput},
        examples=[OpenApiExample("A brief", {"name": "Summer linen brief"})],
        summary="Start a board",
    )
    def post(self, request):
        params = BoardInput(data=request.data)
        params.is_valid(raise_exception=True)
        board = boards.board_create(
            merchant=self.merchant, user=request.user, name=params.validated_data["name"]
        )
        board = selectors.board_get(merchant=self.merchant, pk=board.pk)
        return Response(BoardDetailOutput(board).data, status=status.HTTP_201_CREATED)


class BoardDetailApi(StudioApi):
    @extend_schema(responses=BoardDetailOutput, summary="A board and its concepts")
    def get(self, request, pk: int):
        board = selectors.board_get(merchant=self.merchant, pk=pk)
        return Response(BoardDetailOutput(board).data)

    @extend_schema(request=BoardInput, responses=BoardDetailOutput, summary="Rename a board")
    def patch(self, request, pk: int):
        board = selectors.board_get(merchant=self.merchant, pk=pk)
        params = BoardInput(data=request.data)
        params.is_valid(raise_exception=True)
        boards.board_rename(board=board, name=params.validated_data["name"])
        return Response(BoardDetailOutput(board).data)

    @extend_schema(responses={204: None}, summary="Delete a board (its concepts stay)")
    def delete(self, request, pk: int):
        boards.board_delete(board=selectors.board_get(merchant=self.merchant, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardConceptsApi(StudioApi):
    @extend_schema(
        request=BoardConceptInput,
        responses={201: BoardDetailOutput, 200: BoardDetailOutput},
        examples=[OpenApiExample("Keep a concept", {"concept": 42})],
        summary="Save a concept to a board (200 when it was there already)",
    )
    def post(self, request, pk: int):
        board = selectors.board_get(merchant=self.merchant, pk=pk)
        params = BoardConceptInput(data=request.data)
        params.is_valid(raise_exception=True)
        concept = selectors.concept_get(merchant=self.merchant, pk=params.validated_data["concept"])
        added = boards.board_concept_add(board=board, concept=concept)
        board = selectors.board_get(merchant=self.merchant, pk=pk)
        code = status.HTTP_201_CREATED if added else status.HTTP_200_OK
        return Response(BoardDetailOutput(board).data, status=code)


class BoardConceptApi(StudioApi):
    @extend_schema(responses={204: None}, summary="Take a concept off a board")
    def delete(self, request, pk: int, concept_id: int):
        board = selectors.board_get(merchant=self.merchant, pk=pk)
        boards.board_concept_remove(board=board, concept_id=concept_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BoardExportApi(StudioApi):
    @extend_schema(
        responses={(200, "application/zip"): bytes},
        summary="The board as a ZIP: images with their C2PA manifests, and provenance.json",
    )
    def get(self, request, pk: int):
        return board_zip_response(selectors.board_get(merchant=self.merchant, pk=pk))


def board_zip_response(board) -> FileResponse:
    archive = boards.board_export(board=board)
    name = f"board-{board.pk}-{slugify(board.name)[:60] or 'board'}.zip"
    return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
