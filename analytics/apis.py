"""POST /api/v1/events/: a click on a search result (or an add to cart), with its query id."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.events import result_logged
from analytics.models import ResultEvent
from catalog.selectors import products_searchable
from config.api_errors import ERROR_RESPONSE
from config.throttles import SearchThrottle
from retrieval.params import reject_unexpected


class ResultEventInput(serializers.Serializer):
    query_id = serializers.UUIDField(help_text="The search's query_id.")
    product_id = serializers.IntegerField(min_value=1)
    position = serializers.IntegerField(
        min_value=1, max_value=10_000, help_text="1 = the first result of the first page."
    )
    kind = serializers.ChoiceField(choices=ResultEvent.Kind.choices, default="click")

    def validate_product_id(self, pk: int) -> int:
        product = products_searchable().filter(pk=pk).only("id", "merchant_id").first()
        if product is None:
            raise serializers.ValidationError(
                f"No shown product has the id {pk}.", code="unknown_product"
            )
        self.product = product
        return pk


class ResultEventApi(APIView):
    throttle_classes = [SearchThrottle]

    @extend_schema(
        request=ResultEventInput,
        responses={202: inline_serializer("Recorded", {"recorded": serializers.BooleanField()})}
        | {400: ERROR_RESPONSE},
        description="Record a click on (or an add to cart of) a search result. No personal "
        "data is kept: the query id links it to its search, nothing links it to a person.",
    )
    def post(self, request):
        params = ResultEventInput(data=request.data)
        params.is_valid(raise_exception=True)  # a body that is not an object ends here
        reject_unexpected(request.data.keys(), set(params.fields))
        data = params.validated_data
        result_logged(
            search_id=data["query_id"],
            product=params.product,
            position=data["position"],
            kind=data["kind"],
        )
        return Response({"recorded": True}, status=status.HTTP_202_ACCEPTED)
